package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"cloudlet/store"
)

// UpdateNetworkRequest is PATCH /api/v1/networks/{id}: each field given replaces the network's.
type UpdateNetworkRequest struct {
	Shared *bool   `json:"shared"` // an external network's sharing with every project (admins only)
	Name   *string `json:"name"`
	// Subnet replaces the NAT or isolated network's subnet: its name alone at any time, its
	// addressing only while no port or floating IP holds an address on it.
	Subnet *Subnet `json:"subnet"`
	// AnyCIDR lets a new subnet lie outside the members' ranges (set by the web layer from
	// network:any_cidr, never from JSON).
	AnyCIDR bool `json:"-"`
}

// UpdateNetwork renames a network, replaces its subnet, or shares an external network of the
// project with every project (or stops sharing it). Like Neutron, it refuses to stop sharing while
// other projects hold floating IPs from it (without naming them).
func (s *Service) UpdateNetwork(_ context.Context, projectID, ref string, r UpdateNetworkRequest) (*Network, error) {
	if r.Shared == nil && r.Name == nil && r.Subnet == nil {
		return nil, errInvalid(`give "name", "subnet" or "shared"`)
	}
	var host []netip.Prefix
	if r.Subnet != nil {
		var err error
		if host, err = s.hostRoutes(); err != nil {
			return nil, fmt.Errorf("update network %s: read the host's routes: %w", ref, err)
		}
	}
	var n, before *Network
	err := s.db.Update(func(tx *store.Tx) (err error) {
		if n, err = networks.Lookup(tx, projectID, ref); err != nil {
			return err
		}
		old := *n
		before = &old
		if err := s.applyUpdate(tx, n, r, host); err != nil {
			return err
		}
		if err := networks.Update(tx, n); err != nil {
			return err
		}
		return appendEvent(tx, "network.updated", "network", n.ID, n.ProjectID)
	})
	if err != nil {
		return nil, fmt.Errorf("update network %s: %w", ref, err)
	}
	if !sameAddressing(before.Subnet, n.Subnet) {
		if err := s.readdress(n); err != nil {
			return nil, fmt.Errorf("update network %s: %w", ref, err)
		}
	}
	return n, nil
}

// applyUpdate changes n as r asks, checking each change.
func (s *Service) applyUpdate(tx *store.Tx, n *Network, r UpdateNetworkRequest, host []netip.Prefix) error {
	if r.Name != nil {
		if err := store.ValidateName(*r.Name); err != nil {
			return errInvalid("network name: %v", err)
		}
		n.Name = *r.Name
	}
	if r.Subnet != nil {
		if err := s.replaceSubnet(tx, n, *r.Subnet, r.AnyCIDR, host); err != nil {
			return err
		}
	}
	if r.Shared == nil || n.Shared == *r.Shared {
		return nil
	}
	switch {
	case *r.Shared && n.Kind != KindExternal:
		return errInvalid("only an external network is shared (for floating IPs); %s is a %s network", n.Name, n.Kind)
	case !*r.Shared:
		if err := noOtherProjects(tx, n); err != nil {
			return err
		}
	}
	n.Shared = *r.Shared
	return nil
}

// replaceSubnet gives n subnet sn: a new name alone is always fine; new addressing needs a NAT or
// isolated network with no address held on it, and passes the checks a new network's does.
func (s *Service) replaceSubnet(tx *store.Tx, n *Network, sn Subnet, anyCIDR bool, host []netip.Prefix) error {
	if n.Kind != KindNAT && n.Kind != KindIsolated {
		return errInvalid("network %s is a %s network: its subnet is the host's LAN and stays as it was made", n.Name, n.Kind)
	}
	if err := sn.normalize(); err != nil {
		return err
	}
	if sameAddressing(n.Subnet, sn) {
		n.Subnet.Name, n.Subnet.Auto = sn.Name, sn.Auto
		return nil
	}
	used, err := usedAddrs(tx, n.ID)
	if err != nil {
		return err
	}
	for ip, h := range used {
		return errConflict("network %s has %s on %s: its subnet changes only while no address on it is in use", n.Name, h.what, ip)
	}
	if !anyCIDR {
		if err := s.memberMayUse(sn.CIDR); err != nil {
			return err
		}
	}
	if err := overlaps(tx, n.ProjectID, sn.CIDR, host, n.ID); err != nil {
		return err
	}
	n.Subnet = sn
	return nil
}

// sameAddressing reports whether two subnets hand out the same addresses the same way.
func sameAddressing(a, b Subnet) bool {
	a.Name, a.Auto, b.Name, b.Auto = "", false, "", false
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// readdress restarts the network's bridge and servers on its new subnet, and its firewall rules.
func (s *Service) readdress(n *Network) error {
	if err := s.downNetwork(n.ID); err != nil {
		return err
	}
	return errors.Join(s.upNetwork(n), s.syncFirewall(context.Background()))
}

// noOtherProjects refuses to unshare n while another project holds a floating IP from it.
func noOtherProjects(tx *store.Tx, n *Network) error {
	return floatingIPs.ForEach(tx, func(f *FloatingIP) error {
		if f.NetworkID == n.ID && f.ProjectID != n.ProjectID {
			return errConflict("network %s has floating IPs of other projects: they must be released before it stops being shared", n.Name)
		}
		return nil
	})
}
