package network

import (
	"context"
	"fmt"
	"net/netip"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// FloatingIP is an address of an external network that a project holds; associated with a port, it
// maps one to one onto the port's fixed IP (DNAT in, SNAT out). Deleting the port disassociates it:
// the address stays the project's until the floating IP is deleted (Neutron's behaviour).
type FloatingIP struct {
	store.Meta
	Description string     `json:"description,omitempty"`
	NetworkID   string     `json:"floating_network_id"`
	IP          netip.Addr `json:"floating_ip_address"`
	PortID      string     `json:"port_id"`          // "" = not associated
	FixedIP     netip.Addr `json:"fixed_ip_address"` // the port's address it maps to
	Status      string     `json:"status"`           // FloatingActive when associated, else FloatingDown
}

// Floating IP statuses (Neutron's).
const (
	FloatingActive = "ACTIVE"
	FloatingDown   = "DOWN"
)

var floatingIPs = store.NewKind[FloatingIP](store.BucketFloatingIPs, store.ScopeProject)

// CreateFloatingIPRequest is POST /api/v1/floating-ips.
type CreateFloatingIPRequest struct {
	Name        string     `json:"name"`                // optional
	Description string     `json:"description"`         // optional
	Network     string     `json:"network"`             // the external network, by id or name
	IP          netip.Addr `json:"floating_ip_address"` // optional: else the lowest free one of the pools
	Port        string     `json:"port"`                // optional: associate at once
}

// UpdateFloatingIPRequest is PUT /api/v1/floating-ips/{id}: a port associates, "" disassociates.
type UpdateFloatingIPRequest struct {
	Port *string `json:"port"`
}

// CreateFloatingIP allocates an address of an external network's pools (the requested one if free)
// in the same transaction that records it, and associates it when a port is given.
func (s *Service) CreateFloatingIP(ctx context.Context, projectID string, r CreateFloatingIPRequest) (*FloatingIP, error) {
	f, err := r.floatingIP(projectID)
	if err != nil {
		return nil, err
	}
	err = s.db.Update(func(tx *store.Tx) error {
		n, err := externalNetwork(tx, projectID, r.Network)
		if err != nil {
			return err
		}
		f.NetworkID = n.ID
		if f.IP, err = floatingAddress(tx, projectID, n, r.IP); err != nil {
			return err
		}
		if r.Port != "" {
			if err := associate(tx, f, r.Port); err != nil {
				return err
			}
		}
		if err := s.checkQuota(tx, projectID, QuotaFloatingIPs); err != nil {
			return err
		}
		if err := floatingIPs.Create(tx, f); err != nil {
			return err
		}
		return appendEvent(tx, "floating_ip.created", "floating_ip", f.ID, projectID)
	})
	if err != nil {
		return nil, fmt.Errorf("create floating IP: %w", err)
	}
	if err := s.publish(ctx); err != nil {
		s.undoFloatingIP(ctx, f.ID, nil)
		return nil, fmt.Errorf("create floating IP %s: %w", f.IP, err)
	}
	return f, nil
}

func (r CreateFloatingIPRequest) floatingIP(projectID string) (*FloatingIP, error) {
	if r.Name != "" {
		if err := store.ValidateName(r.Name); err != nil {
			return nil, errInvalid("floating IP name: %v", err)
		}
	}
	if len(r.Description) > 255 {
		return nil, errInvalid("description is longer than 255 bytes")
	}
	if r.Network == "" {
		return nil, errInvalid("a floating IP needs the external network it comes from")
	}
	return &FloatingIP{Meta: store.Meta{ID: store.NewID(), Name: r.Name, ProjectID: projectID},
		Description: r.Description, Status: FloatingDown}, nil
}

// externalNetwork finds the network a floating IP comes from among those the project sees: its own
// and the shared external ones (Neutron's shared router:external networks). Another project's
// unshared external network answers 404.
func externalNetwork(tx *store.Tx, projectID, ref string) (*Network, error) {
	n, err := visibleNetwork(tx, projectID, ref)
	if err != nil {
		return nil, err
	}
	if n.Kind != KindExternal {
		return nil, errInvalid("network %s is not external: floating IPs come from a network of kind %s", n.Name, KindExternal)
	}
	return n, nil
}

// floatingAddress picks the floating IP: the requested one, which must lie in the pools (outside
// them could be the host's own address or the router's), or the lowest free one.
func floatingAddress(tx *store.Tx, projectID string, n *Network, want netip.Addr) (netip.Addr, error) {
	used, err := usedAddrs(tx, n.ID)
	if err != nil {
		return netip.Addr{}, err
	}
	if !want.IsValid() {
		return allocate(n.Subnet, used)
	}
	if err := claim("floating IP", projectID, n.Subnet, want, used); err != nil {
		return netip.Addr{}, err
	}
	if !inPools(n.Subnet.Pools, want) {
		return netip.Addr{}, errInvalid("floating IP %s is outside the allocation pools of network %s", want, n.Name)
	}
	return want, nil
}

func inPools(pools []Pool, a netip.Addr) bool {
	for _, p := range pools {
		if p.contains(a) {
			return true
		}
	}
	return false
}

// FloatingIPs lists the project's floating IPs ("" = all).
func (s *Service) FloatingIPs(_ context.Context, projectID string) ([]*FloatingIP, error) {
	var out []*FloatingIP
	err := s.db.View(func(tx *store.Tx) (err error) { out, err = floatingIPs.List(tx, projectID); return err })
	return out, err
}

// FloatingIP returns one floating IP of the project, by id, name or address.
func (s *Service) FloatingIP(_ context.Context, projectID, ref string) (*FloatingIP, error) {
	var f *FloatingIP
	err := s.db.View(func(tx *store.Tx) (err error) { f, err = lookupFloatingIP(tx, projectID, ref); return err })
	return f, err
}

func lookupFloatingIP(tx *store.Tx, projectID, ref string) (*FloatingIP, error) {
	f, err := floatingIPs.Lookup(tx, projectID, ref)
	ip, perr := netip.ParseAddr(ref)
	if fault.KindOf(err) != fault.NotFound || perr != nil {
		return f, err
	}
	all, lerr := floatingIPs.List(tx, projectID)
	if lerr != nil {
		return nil, lerr
	}
	for _, f := range all {
		if f.IP == ip {
			return f, nil
		}
	}
	return nil, err
}

// DeleteFloatingIP disassociates and releases a floating IP.
func (s *Service) DeleteFloatingIP(ctx context.Context, projectID, ref string) error {
	err := s.db.Update(func(tx *store.Tx) error {
		f, err := lookupFloatingIP(tx, projectID, ref)
		if err != nil {
			return err
		}
		if err := floatingIPs.Delete(tx, f.ID); err != nil {
			return err
		}
		return appendEvent(tx, "floating_ip.deleted", "floating_ip", f.ID, f.ProjectID)
	})
	if err != nil {
		return fmt.Errorf("delete floating IP %s: %w", ref, err)
	}
	return s.publish(ctx)
}
