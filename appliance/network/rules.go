package network

import (
	"context"
	"errors"
	"fmt"
	"net"

	"cloudlet/appliance/network/firewall"
	"cloudlet/appliance/network/link"
	"cloudlet/store"
)

// Firewall rules are derived, never edited: after every change to networks, ports, security groups,
// floating IPs or port forwards, the whole catalog is read in one transaction, turned into a
// firewall.Model and applied. Apply rewrites only the chains that differ, so the same catalog always
// leaves byte-identical rules, and a daemon restart rebuilds exactly what was there.

// Firewall applies a ruleset to the kernel; *firewall.Applier in the daemon.
type Firewall interface {
	Apply(ctx context.Context, rs firewall.Ruleset) error
}

// syncFirewall makes the kernel's cloudlet chains match the catalog. With no network left, every
// cloudlet chain and jump is removed. Calls are serialised and each reads the catalog afresh, so
// the last one always reflects the latest change.
func (s *Service) syncFirewall(ctx context.Context) error {
	if s.fw == nil {
		return nil
	}
	s.fwMu.Lock()
	defer s.fwMu.Unlock()
	var m firewall.Model
	err := s.db.View(func(tx *store.Tx) (err error) { m, err = firewallModel(tx); return err })
	s.withMetadata(&m)
	if err != nil {
		return fmt.Errorf("apply firewall rules: read the catalog: %w", err)
	}
	rs := firewall.Ruleset{}
	if len(m.Networks) > 0 {
		if rs, err = firewall.Build(m); err != nil {
			return fmt.Errorf("apply firewall rules: %w", err)
		}
	}
	loopback := firewall.LoopbackBridges(m)
	if err := s.lowerLocalnet(loopback); err != nil {
		return fmt.Errorf("apply firewall rules: %w", err)
	}
	if err := s.fw.Apply(ctx, rs); err != nil {
		return fmt.Errorf("apply firewall rules: %w", err)
	}
	if err := s.raiseLocalnet(loopback); err != nil {
		return fmt.Errorf("apply firewall rules: %w", err)
	}
	return nil
}

// firewallModel is the catalog as the firewall sees it: networks with a bridge of their own and
// their ports' taps, every security group, and the published addresses (associated floating IPs,
// port forwards). External networks have no bridge; a bridged network's is the host's (Shared).
func firewallModel(tx *store.Tx) (firewall.Model, error) {
	var m firewall.Model
	own, uplinks := map[string]bool{}, map[string]string{}
	err := networks.ForEach(tx, func(n *Network) error {
		switch n.Kind {
		case KindExternal:
			uplinks[n.ID] = n.Uplink
		case KindBridged:
			own[n.ID] = true
			m.Networks = append(m.Networks, firewall.Network{ID: n.ID, Bridge: n.Bridge, Subnet: n.Subnet.CIDR, Shared: true})
		default:
			own[n.ID] = true
			m.Networks = append(m.Networks, firewallNetwork(n))
		}
		return nil
	})
	if err != nil {
		return m, err
	}
	err = ports.ForEach(tx, func(p *Port) error {
		if own[p.NetworkID] {
			fp, err := firewallPort(p)
			m.Ports = append(m.Ports, fp)
			return err
		}
		return nil
	})
	if err != nil {
		return m, err
	}
	err = groups.ForEach(tx, func(g *SecurityGroup) error {
		m.SecurityGroups = append(m.SecurityGroups, firewallGroup(g))
		return nil
	})
	if err != nil {
		return m, err
	}
	if m.FloatingIPs, err = firewallFloatingIPs(tx, uplinks); err != nil {
		return m, err
	}
	m.PortForwards, err = firewallPortForwards(tx)
	return m, err
}

func firewallNetwork(n *Network) firewall.Network {
	fn := firewall.Network{ID: n.ID, Bridge: link.BridgeName(n.ID), Subnet: n.Subnet.CIDR,
		Gateway: n.Subnet.Gateway, NAT: n.Kind == KindNAT}
	if n.Kind == KindNAT {
		fn.Uplink = n.Uplink
	}
	return fn
}

// firewallFloatingIPs are the associated floating IPs, arriving on (and leaving by) the uplink of
// their external network.
func firewallFloatingIPs(tx *store.Tx, uplinks map[string]string) ([]firewall.FloatingIP, error) {
	var out []firewall.FloatingIP
	err := floatingIPs.ForEach(tx, func(f *FloatingIP) error {
		if f.PortID != "" {
			out = append(out, firewall.FloatingIP{IP: f.IP, FixedIP: f.FixedIP, Interface: uplinks[f.NetworkID]})
		}
		return nil
	})
	return out, err
}

func firewallPortForwards(tx *store.Tx) ([]firewall.PortForward, error) {
	var out []firewall.PortForward
	err := portForwards.ForEach(tx, func(pf *PortForward) error {
		out = append(out, firewall.PortForward{Protocol: pf.Protocol, HostPort: pf.HostPort, HostIP: pf.HostIP,
			FixedIP: pf.FixedIP, Port: pf.InternalPort})
		return nil
	})
	return out, err
}

func firewallPort(p *Port) (firewall.Port, error) {
	mac, err := net.ParseMAC(p.MAC)
	if err != nil {
		return firewall.Port{}, fmt.Errorf("port %s: stored MAC %q: %w", p.Name, p.MAC, err)
	}
	return firewall.Port{ID: p.ID, Network: p.NetworkID, Tap: link.TapName(p.ID), MAC: mac,
		IPs: p.FixedIPs, PortSecurity: p.PortSecurity, SecurityGroups: p.SecurityGroups}, nil
}

func firewallGroup(g *SecurityGroup) firewall.SecurityGroup {
	fg := firewall.SecurityGroup{ID: g.ID}
	for _, r := range g.Rules {
		fg.Rules = append(fg.Rules, firewall.Rule{Direction: r.Direction, Protocol: ruleProtocol(r.Protocol),
			PortMin: r.PortMin, PortMax: r.PortMax, RemoteCIDR: r.RemoteCIDR, RemoteGroup: r.RemoteGroup})
	}
	return fg
}

// ruleProtocol: a rule without a protocol matches any (Neutron's default).
func ruleProtocol(p string) string {
	if p == "" {
		return firewall.Any
	}
	return p
}

// startFirewall turns on what the rules need and applies them from the catalog. Without br_netfilter
// the rules still guard routed traffic but not guest-to-guest traffic on one bridge: a loud warning,
// not a refusal to start (loading kernel modules is the host owner's decision; doctor explains it).
func (s *Service) startFirewall(ctx context.Context) error {
	if s.fw == nil {
		return nil
	}
	if err := link.SetBridgeNetfilter(); errors.Is(err, link.ErrNoBridgeNetfilter) {
		s.dp.o.Log.Warn("security groups cannot filter traffic between guests on one network", "err", err)
	} else if err != nil {
		return err
	}
	return s.syncFirewall(ctx)
}
