package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"cloudlet/appliance/crashpoint"
	"cloudlet/store"
)

// CreatePortRequest is POST /api/v1/ports (and what compute asks for an instance's NIC).
type CreatePortRequest struct {
	Name           string     `json:"name"`
	Network        string     `json:"network"`
	FixedIP        netip.Addr `json:"fixed_ip"`    // optional: else the lowest free address
	MAC            string     `json:"mac_address"` // optional: else fa:16:3e:xx:xx:xx
	SecurityGroups []string   `json:"security_groups"`
	PortSecurity   *bool      `json:"port_security_enabled"` // default true
	DeviceOwner    string     `json:"device_owner"`          // not OwnerInstance: see Instance
	DeviceID       string     `json:"device_id"`
	// Instance is set by compute only (never from JSON): the port is made bound to that instance.
	Instance string `json:"-"`
	// InstanceName is the instance's name, recorded for messages that name it (compute only).
	InstanceName string `json:"-"`
}

// CreatePort gives a port an address on its network: the requested one if free, else the lowest free
// one of the allocation pools, in the same transaction that records it, so two ports never share one.
func (s *Service) CreatePort(_ context.Context, projectID string, r CreatePortRequest) (*Port, error) {
	p, err := r.port(projectID)
	if err != nil {
		return nil, err
	}
	err = s.db.Update(func(tx *store.Tx) error {
		n, err := networks.Lookup(tx, projectID, r.Network)
		if err != nil {
			return err
		}
		if n.Kind == KindExternal {
			return errConflict("network %s is external: it holds floating IPs, not ports (attach to a nat or isolated network and associate a floating IP)", n.Name)
		}
		p.NetworkID = n.ID
		if err := s.address(tx, n, p, r.FixedIP); err != nil {
			return err
		}
		if err := resolveGroups(tx, p); err != nil {
			return err
		}
		if err := macFree(tx, projectID, p.MAC); err != nil {
			return err
		}
		if err := s.checkQuota(tx, projectID, QuotaPorts); err != nil {
			return err
		}
		if err := ports.Create(tx, p); err != nil {
			return err
		}
		return appendEvent(tx, "port.created", "port", p.ID, projectID)
	})
	if err != nil {
		return nil, fmt.Errorf("create port %s: %w", p.Name, err)
	}
	if err := s.upPort(p); err != nil {
		s.undoPort(p)
		return nil, fmt.Errorf("create port %s: %w", p.Name, err)
	}
	crashpoint.Hit(crashpoint.PortTapMade)
	if err := s.syncFirewall(context.Background()); err != nil {
		s.undoPort(p)
		return nil, fmt.Errorf("create port %s: %w", p.Name, err)
	}
	return p, nil
}

// undoPort removes a port whose datapath could not be made: its tap, its record, and its rules.
func (s *Service) undoPort(p *Port) {
	s.downPort(p.ID)
	s.db.Update(func(tx *store.Tx) error { return ports.Delete(tx, p.ID) })
	s.syncFirewall(context.Background())
}

// port builds the record from the request, with a generated name and MAC when none is given.
func (r CreatePortRequest) port(projectID string) (*Port, error) {
	if r.DeviceOwner == OwnerInstance {
		return nil, errInvalid("device_owner %s is compute's: give a port to an instance with instance create --port", OwnerInstance)
	}
	if r.Instance != "" {
		r.DeviceOwner, r.DeviceID = OwnerInstance, r.Instance
	}
	p := &Port{Meta: store.Meta{ID: store.NewID(), Name: r.Name, ProjectID: projectID}, MAC: r.MAC,
		SecurityGroups: r.SecurityGroups, PortSecurity: r.PortSecurity == nil || *r.PortSecurity,
		DeviceOwner: r.DeviceOwner, DeviceID: r.DeviceID, DeviceName: r.InstanceName}
	if p.Name == "" {
		p.Name = "port-" + p.ID[:8]
	}
	if err := store.ValidateName(p.Name); err != nil {
		return nil, errInvalid("port name: %v", err)
	}
	if p.MAC == "" {
		mac, err := newMAC()
		if err != nil {
			return nil, err
		}
		p.MAC = mac
	}
	hw, err := net.ParseMAC(p.MAC)
	if err != nil || len(hw) != 6 || hw[0]&1 == 1 || hw.String() == "00:00:00:00:00:00" {
		return nil, errInvalid("mac_address %q must be a unicast Ethernet address", r.MAC)
	}
	p.MAC = hw.String()
	return p, nil
}

// address sets the port's fixed IP on network n.
func (s *Service) address(tx *store.Tx, n *Network, p *Port, want netip.Addr) error {
	used, err := usedAddrs(tx, n.ID)
	if err != nil {
		return err
	}
	ip := want
	if ip.IsValid() {
		err = claim("fixed IP", p.ProjectID, n.Subnet, ip, used)
	} else {
		ip, err = allocate(n.Subnet, used)
	}
	if err != nil {
		return err
	}
	p.FixedIPs = []netip.Addr{ip}
	return nil
}

// macFree refuses a MAC another port has (in any project: they may share a bridge's segment);
// the port is named only when it is the project's own.
func macFree(tx *store.Tx, projectID, mac string) error {
	return ports.ForEach(tx, func(q *Port) error {
		switch {
		case q.MAC != mac:
			return nil
		case q.ProjectID == projectID:
			return errConflict("mac_address %s is already used by port %s", mac, q.Name)
		}
		return errConflict("mac_address %s is in use", mac)
	})
}

// Port returns one port of the project.
func (s *Service) Port(_ context.Context, projectID, idOrName string) (*Port, error) {
	var p *Port
	err := s.db.View(func(tx *store.Tx) (err error) { p, err = ports.Lookup(tx, projectID, idOrName); return err })
	return p, err
}

// Ports lists the project's ports ("" = all).
func (s *Service) Ports(_ context.Context, projectID string) ([]*Port, error) {
	var out []*Port
	err := s.db.View(func(tx *store.Tx) (err error) { out, err = ports.List(tx, projectID); return err })
	return out, err
}

// DeletePort is DELETE /api/v1/ports/{id}: it releases a port, its address and its tap. A port bound
// to an instance is refused, naming the instance: its tap is in use by QEMU (compute deletes the ports
// it made with DeleteInstancePort; a port given to an instance is unbound when the instance goes).
func (s *Service) DeletePort(ctx context.Context, projectID, idOrName string) error {
	return s.deletePort(ctx, projectID, idOrName, false)
}

// DeleteInstancePort is DeletePort for compute: it deletes a port it made for an instance, bound or not.
func (s *Service) DeleteInstancePort(ctx context.Context, projectID, idOrName string) error {
	return s.deletePort(ctx, projectID, idOrName, true)
}

// deletePort deletes the port; in the same transaction its floating IP is disassociated (it stays
// allocated to the project, as in Neutron) and its port forwards deleted. Only an instance's own
// deletion (bound) may take a port bound to an instance.
func (s *Service) deletePort(ctx context.Context, projectID, idOrName string, bound bool) error {
	var id string
	err := s.db.Update(func(tx *store.Tx) error {
		p, err := ports.Lookup(tx, projectID, idOrName)
		if err != nil {
			return err
		}
		if !bound && p.DeviceOwner == OwnerInstance && p.DeviceID != "" {
			return inUse(p)
		}
		if err := unpublishPort(tx, p); err != nil {
			return err
		}
		if err := ports.Delete(tx, p.ID); err != nil {
			return err
		}
		id = p.ID
		return appendEvent(tx, "port.deleted", "port", p.ID, p.ProjectID)
	})
	if err != nil {
		return s.named(ctx, err, ": delete the instance first (a port given to it is unbound then)")
	}
	return errors.Join(s.publish(ctx), s.downPort(id))
}

// unpublishPort disassociates the port's floating IPs and deletes its port forwards.
func unpublishPort(tx *store.Tx, p *Port) error {
	err := floatingIPs.ForEach(tx, func(f *FloatingIP) error {
		if f.PortID != p.ID {
			return nil
		}
		f.disassociate()
		if err := floatingIPs.Update(tx, f); err != nil {
			return err
		}
		return appendEvent(tx, "floating_ip.updated", "floating_ip", f.ID, f.ProjectID)
	})
	if err != nil {
		return err
	}
	return portForwards.ForEach(tx, func(pf *PortForward) error {
		if pf.PortID != p.ID {
			return nil
		}
		if err := portForwards.Delete(tx, pf.ID); err != nil {
			return err
		}
		return appendEvent(tx, "port_forward.deleted", "port_forward", pf.ID, pf.ProjectID)
	})
}

// resolveGroups turns the port's security group names into ids of the project's groups; a port with
// port security and no group gets the project's default group.
func resolveGroups(tx *store.Tx, p *Port) error {
	if !p.PortSecurity {
		if len(p.SecurityGroups) > 0 {
			return errInvalid("a port without port security has no security groups")
		}
		return nil
	}
	def, err := ensureDefaultGroup(tx, p.ProjectID)
	if err != nil {
		return err
	}
	if len(p.SecurityGroups) == 0 {
		p.SecurityGroups = []string{def.ID}
		return nil
	}
	for i, ref := range p.SecurityGroups {
		g, err := groups.Lookup(tx, p.ProjectID, ref)
		if err != nil {
			return errInvalid("security group %q not found", ref)
		}
		p.SecurityGroups[i] = g.ID
	}
	return nil
}
