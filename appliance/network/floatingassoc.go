package network

import (
	"context"
	"fmt"
	"net/netip"

	"cloudlet/store"
)

// UpdateFloatingIP associates a floating IP with a port of the project (by id or name) or, with an
// empty port, disassociates it. Associating it again with the port it has changes nothing.
func (s *Service) UpdateFloatingIP(ctx context.Context, projectID, ref string, r UpdateFloatingIPRequest) (*FloatingIP, error) {
	if r.Port == nil {
		return nil, errInvalid(`give "port": a port to associate, or "" to disassociate`)
	}
	var f *FloatingIP
	var before FloatingIP
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if f, err = lookupFloatingIP(tx, projectID, ref); err != nil {
			return err
		}
		before = *f
		if *r.Port == "" {
			f.disassociate()
		} else if err := associate(tx, f, *r.Port); err != nil {
			return err
		}
		if f.PortID == before.PortID {
			return nil
		}
		if err := floatingIPs.Update(tx, f); err != nil {
			return err
		}
		return appendEvent(tx, "floating_ip.updated", "floating_ip", f.ID, projectID)
	})
	if err != nil {
		return nil, fmt.Errorf("update floating IP %s: %w", ref, err)
	}
	if err := s.publish(ctx); err != nil {
		s.undoFloatingIP(ctx, f.ID, &before)
		return nil, fmt.Errorf("update floating IP %s: %w", f.IP, err)
	}
	return f, nil
}

// associate points f at the port named by portRef (in f's project). A port takes one floating IP,
// a floating IP one port; the port must be on a network with a bridge of cloudlet's own (nat or
// isolated: the firewall's DNAT leads there) and have a fixed IP.
func associate(tx *store.Tx, f *FloatingIP, portRef string) error {
	p, err := ports.Lookup(tx, f.ProjectID, portRef)
	if err != nil {
		return err
	}
	if f.PortID == p.ID {
		return nil
	}
	if f.PortID != "" {
		return errConflict("floating IP %s is already associated with port %s: disassociate it first", f.IP, portName(tx, f.PortID))
	}
	if other, err := floatingIPOf(tx, p.ID); err != nil || other != nil {
		if err != nil {
			return err
		}
		return errConflict("port %s already has floating IP %s: disassociate that one first", p.Name, other.IP)
	}
	n, err := networks.Get(tx, p.NetworkID)
	if err != nil {
		return err
	}
	if n.Kind != KindNAT && n.Kind != KindIsolated {
		return errConflict("port %s is on %s network %s: floating IP %s needs a port on a nat or isolated network", p.Name, n.Kind, n.Name, f.IP)
	}
	if len(p.FixedIPs) == 0 {
		return errConflict("port %s has no fixed IP for floating IP %s to map to", p.Name, f.IP)
	}
	f.PortID, f.FixedIP, f.Status = p.ID, p.FixedIPs[0], FloatingActive
	return nil
}

func (f *FloatingIP) disassociate() {
	f.PortID, f.FixedIP, f.Status = "", netip.Addr{}, FloatingDown
}

// floatingIPOf returns the floating IP associated with a port, or nil.
func floatingIPOf(tx *store.Tx, portID string) (*FloatingIP, error) {
	var found *FloatingIP
	err := floatingIPs.ForEach(tx, func(f *FloatingIP) error {
		if f.PortID == portID {
			found = f
		}
		return nil
	})
	return found, err
}

func portName(tx *store.Tx, id string) string {
	if p, err := ports.Get(tx, id); err == nil {
		return p.Name
	}
	return id
}

// undoFloatingIP puts a floating IP back as it was before a change whose datapath could not be
// applied: deleted when it was new (before == nil), else its old association (dropped when the
// port has gone meanwhile). Then it applies the catalog again.
func (s *Service) undoFloatingIP(ctx context.Context, id string, before *FloatingIP) {
	s.db.Update(func(tx *store.Tx) error {
		f, err := floatingIPs.Get(tx, id)
		if err != nil {
			return err
		}
		if before == nil {
			return floatingIPs.Delete(tx, id)
		}
		f.PortID, f.FixedIP, f.Status = before.PortID, before.FixedIP, before.Status
		if _, err := ports.Get(tx, f.PortID); f.PortID != "" && err != nil {
			f.disassociate()
		}
		return floatingIPs.Update(tx, f)
	})
	s.publish(ctx)
}
