package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"cloudlet/store"
)

// CreateNetworkRequest is POST /api/v1/networks.
type CreateNetworkRequest struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`     // nat (default), isolated, bridged, external
	External bool   `json:"external"` // true without a kind means kind external
	Uplink   string `json:"uplink"`
	Bridge   string `json:"bridge"`
	MTU      int    `json:"mtu"`
	Subnet   Subnet `json:"subnet"`
	// Shared makes an external network visible to every project, to take floating IPs from
	// (Neutron's shared router:external network). Only an admin may set it.
	Shared bool `json:"shared"`
	// AnyCIDR lets the subnet lie outside the ranges members may use (never a reserved one). The
	// web layer sets it from the caller's policy (network:any_cidr); never from JSON.
	AnyCIDR bool `json:"-"`
}

// CreateNetwork checks the network and its subnet and records it. A NAT or isolated network asked
// for without a subnet gets the first free /24 of 10.88.0.0/16, marked Auto. Reserved ranges are refused to
// everyone; ranges outside the members' ones to callers without AnyCIDR. Overlaps with another
// network's subnet or a prefix the host routes (or an address it owns) are refused, naming the
// network only when it is the caller's project's. A bridged network is the host's LAN and an
// external network the uplink's LAN (or a range routed to it), so only overlaps with other networks
// count for them.
func (s *Service) CreateNetwork(_ context.Context, projectID string, r CreateNetworkRequest) (*Network, error) {
	if !r.Subnet.CIDR.IsValid() && (r.Kind == "" && !r.External || r.Kind == KindNAT || r.Kind == KindIsolated) {
		auto, err := s.freeSlash24(projectID)
		if err != nil {
			return nil, fmt.Errorf("create network %s: %w", r.Name, err)
		}
		r.Subnet = Subnet{Name: r.Subnet.Name, CIDR: auto, DHCP: true, Auto: true}
	} else {
		r.Subnet.Auto = false // only a range cloudlet picked is one
	}
	n := &Network{Meta: store.Meta{ID: store.NewID(), Name: r.Name, ProjectID: projectID}, Kind: r.Kind,
		External: r.External, Shared: r.Shared, Uplink: r.Uplink, Bridge: r.Bridge, MTU: r.MTU, Subnet: r.Subnet}
	if err := n.validate(); err != nil {
		return nil, err
	}
	if !r.AnyCIDR {
		if err := s.memberMayUse(n.Subnet.CIDR); err != nil {
			return nil, err
		}
	}
	if s.dp != nil && n.Uplink != "" {
		if err := checkUplinkLink(n); err != nil {
			return nil, err
		}
	}
	var host []netip.Prefix
	if n.Kind != KindExternal && n.Kind != KindBridged { // those are the host's own LAN by design
		var err error
		if host, err = s.hostRoutes(); err != nil {
			return nil, fmt.Errorf("read the host's routes: %w", err)
		}
	}
	err := s.db.Update(func(tx *store.Tx) error {
		if err := overlaps(tx, projectID, n.Subnet.CIDR, host, ""); err != nil {
			return err
		}
		if err := s.checkQuota(tx, projectID, QuotaNetworks); err != nil {
			return err
		}
		if err := networks.Create(tx, n); err != nil {
			return err
		}
		return appendEvent(tx, "network.created", "network", n.ID, projectID)
	})
	if err != nil {
		return nil, fmt.Errorf("create network %s: %w", r.Name, err)
	}
	if err := s.upNetwork(n); err != nil {
		s.undoNetwork(n)
		return nil, fmt.Errorf("create network %s: %w", r.Name, err)
	}
	if err := s.syncFirewall(context.Background()); err != nil {
		s.undoNetwork(n)
		return nil, fmt.Errorf("create network %s: %w", r.Name, err)
	}
	return n, nil
}

func (n *Network) validate() error {
	if err := store.ValidateName(n.Name); err != nil {
		return errInvalid("network name: %v", err)
	}
	if err := n.defaultKind(); err != nil {
		return err
	}
	switch {
	case n.Kind != KindNAT && n.Kind != KindIsolated && n.Kind != KindBridged && n.Kind != KindExternal:
		return errInvalid("network kind %q: must be %s, %s, %s or %s", n.Kind, KindNAT, KindIsolated, KindBridged, KindExternal)
	case n.Kind == KindExternal && n.Uplink == "":
		return errInvalid("an external network needs its uplink: the host interface its subnet is on")
	case n.Uplink != "" && !validIfname(n.Uplink):
		return errInvalid("uplink %q is not an interface name", n.Uplink)
	case n.Uplink != "" && !uplinkName(n.Uplink):
		return errInvalid("uplink %s: an uplink is a host interface to the outside, not the loopback or one of cloudlet's bridges and taps", n.Uplink)
	case n.Shared && n.Kind != KindExternal:
		return errInvalid("only an external network is shared (for floating IPs); a %s network is its project's", n.Kind)
	case n.Kind == KindBridged && n.Bridge == "":
		return errInvalid("a bridged network needs the host bridge to join")
	case n.Kind != KindBridged && n.Bridge != "":
		return errInvalid("only a bridged network names a host bridge")
	case n.MTU != 0 && (n.MTU < 576 || n.MTU > 9000):
		return errInvalid("mtu %d: must be between 576 and 9000", n.MTU)
	case len(n.Uplink) > 15 || len(n.Bridge) > 15:
		return errInvalid("interface names are at most 15 characters")
	}
	if n.MTU == 0 {
		n.MTU = 1500
	}
	return n.Subnet.normalize()
}

// defaultKind fills the kind (nat; external when the request only says external) and keeps External
// true exactly for kind external. An external network has no DHCP server: nothing lives on it.
func (n *Network) defaultKind() error {
	switch {
	case n.Kind == "" && n.External:
		n.Kind = KindExternal
	case n.Kind == "":
		n.Kind = KindNAT
	case n.External && n.Kind != KindExternal:
		return errInvalid("external: true with kind %s: an external network is of kind %s (leave the kind out)", n.Kind, KindExternal)
	}
	n.External = n.Kind == KindExternal
	if n.External {
		n.Subnet.DHCP = false
	}
	return nil
}

// validIfname accepts what Linux accepts as an interface name (and iptables' -i/-o can carry).
func validIfname(s string) bool {
	return s != "" && len(s) <= 15 && s != "." && s != ".." && !strings.ContainsAny(s, "/ \t\n\"'!+:")
}

// overlaps refuses cidr when it overlaps another network's subnet (any project: they share the host)
// or a prefix the host routes; self is a network not to compare with (its own, when re-addressed). Another project's network is not named: a conflict says what
// conflicts, never whose.
func overlaps(tx *store.Tx, projectID string, cidr netip.Prefix, host []netip.Prefix, self string) error {
	for _, h := range host {
		if h.Overlaps(cidr) {
			return errConflict("subnet %s overlaps %s, which the host already routes", cidr, h)
		}
	}
	return networks.ForEach(tx, func(n *Network) error {
		switch {
		case !n.Subnet.CIDR.Overlaps(cidr) || n.ID == self:
			return nil
		case n.ProjectID == projectID:
			return errConflict("subnet %s overlaps subnet %s of network %s", cidr, n.Subnet.CIDR, n.Name)
		}
		return errConflict("subnet %s overlaps another network's subnet", cidr)
	})
}

// DeleteNetwork removes a network that has no ports left, with its bridge and servers.
func (s *Service) DeleteNetwork(_ context.Context, projectID, idOrName string) error {
	var id string
	err := s.db.Update(func(tx *store.Tx) error {
		n, err := networks.Lookup(tx, projectID, idOrName)
		if err != nil {
			return err
		}
		used, err := usedAddrs(tx, n.ID)
		if err != nil {
			return err
		}
		for ip, h := range used {
			return stillUsed(n, ip, h)
		}
		if err := networks.Delete(tx, n.ID); err != nil {
			return err
		}
		id = n.ID
		return appendEvent(tx, "network.deleted", "network", n.ID, n.ProjectID)
	})
	if err != nil {
		return err
	}
	return errors.Join(s.syncFirewall(context.Background()), s.downNetwork(id))
}

// stillUsed is the conflict of deleting network n while h holds ip on it; a holder of another
// project (a floating IP on a shared network) is not named.
func stillUsed(n *Network, ip netip.Addr, h holder) error {
	what := "ports"
	if strings.HasPrefix(h.what, "floating IP") {
		what = "floating IPs"
	}
	if h.projectID != n.ProjectID {
		return errConflict("network %s still has %s in use by another project: its %s must go first", n.Name, ip, what)
	}
	return errConflict("network %s still has %s on %s: delete its %s first", n.Name, h.what, ip, what)
}

// undoNetwork removes a network whose datapath could not be made: its bridge, record and rules.
func (s *Service) undoNetwork(n *Network) {
	s.downNetwork(n.ID)
	s.db.Update(func(tx *store.Tx) error { return networks.Delete(tx, n.ID) })
	s.syncFirewall(context.Background())
}

// defaultRange is where the first start's network "default" is carved from.
var defaultRange = netip.MustParsePrefix("10.88.0.0/16")

// EnsureDefaultNetwork creates NAT network "default" in projectID on the first free /24 of
// 10.88.0.0/16 when the catalog has no network at all (the first start); a deleted default network
// is not brought back. It returns nil when it made nothing.
func (s *Service) EnsureDefaultNetwork(ctx context.Context, projectID string) (*Network, error) {
	if all, err := s.Networks(ctx, ""); err != nil || len(all) > 0 {
		return nil, err
	}
	cidr, err := s.freeSlash24(projectID)
	if err != nil {
		return nil, err
	}
	return s.CreateNetwork(ctx, projectID, CreateNetworkRequest{Name: "default", Kind: KindNAT,
		Subnet: Subnet{CIDR: cidr, DHCP: true}})
}

// freeSlash24 is the first /24 of 10.88.0.0/16 that overlaps no network and no route of the host:
// where the default network and networks made without a subnet go.
func (s *Service) freeSlash24(projectID string) (netip.Prefix, error) {
	host, err := s.hostRoutes()
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("read the host's routes: %w", err)
	}
	for a := defaultRange.Addr(); defaultRange.Contains(a); a = nextSlash24(a) {
		cidr := netip.PrefixFrom(a, 24)
		var free bool
		s.db.View(func(tx *store.Tx) error { free = overlaps(tx, projectID, cidr, host, "") == nil; return nil })
		if free {
			return cidr, nil
		}
	}
	return netip.Prefix{}, errConflict("no free /24 left in %s for a network made without a subnet", defaultRange)
}

func nextSlash24(a netip.Addr) netip.Addr {
	b := a.As4()
	b[2]++
	if b[2] == 0 {
		return netip.Addr{}
	}
	return netip.AddrFrom4(b)
}
