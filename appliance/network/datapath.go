package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"cloudlet/appliance/network/dhcp"
	"cloudlet/appliance/network/dns"
	"cloudlet/appliance/network/link"
	"cloudlet/store"
)

// DatapathOptions turn on the host side of networks: a bridge per network, a tap per port, and per
// network a DHCP server (static reservations from the catalog) and a DNS server on the gateway.
type DatapathOptions struct {
	Log       *slog.Logger
	Domain    string           // DNS names are <port>.<network>.<Domain>; "" means "cloudlet"
	Upstreams []netip.AddrPort // the host's resolvers for other names
	Metadata  MetadataServer   // serves each network's metadata listener (with Options.MetadataPort); nil = none
}

// datapath holds the running servers of each network.
type datapath struct {
	o DatapathOptions

	mu   sync.Mutex // guards nets and gone
	nets map[string]*netRuntime
	gone serverTotals // what the servers of networks gone did (serverstats.go)

	addrMu sync.Mutex // serialises syncFloatingAddrs
}

type netRuntime struct {
	dhcp     *dhcp.Server
	dns      *dns.Server
	metadata func() // stops the metadata listener; nil = none
}

// StartDatapath brings up every network's bridge and servers and every port's tap from the catalog,
// and removes bridges and taps that no record names (leaked by a crash); on external networks'
// uplinks it puts back the associated floating IPs and removes stale ones. Call once at daemon start.
func (s *Service) StartDatapath(o DatapathOptions) error {
	if o.Log == nil {
		return errors.New("network: StartDatapath needs a logger")
	}
	if o.Domain == "" {
		o.Domain = "cloudlet"
	}
	s.dp = &datapath{o: o, nets: map[string]*netRuntime{}}
	all, err := s.Networks(context.Background(), "")
	if err != nil {
		return err
	}
	down := map[string]bool{} // networks on a host interface that is gone: their ports wait for it
	for _, n := range all {
		err := s.upNetwork(n)
		if err != nil && (n.Kind == KindExternal || n.Kind == KindBridged) { // costs that network, not the daemon
			o.Log.Warn("network is not usable: the host interface it needs is missing", "network", n.Name, "err", err)
			down[n.ID] = true
		} else if err != nil {
			return err
		}
	}
	prts, err := s.Ports(context.Background(), "")
	if err != nil {
		return err
	}
	for _, p := range prts {
		if err := s.upPort(p); err != nil && !down[p.NetworkID] {
			return err
		}
	}
	if err := s.reapLinks(all, prts); err != nil {
		return err
	}
	if err := s.syncFloatingAddrs(true); err != nil {
		return err
	}
	return s.startFirewall(context.Background())
}

// upNetwork creates the network's bridge (named from its ID, so the catalog record already names it)
// and starts its DHCP and DNS servers. An external network has neither: its uplink must exist.
func (s *Service) upNetwork(n *Network) error {
	switch {
	case s.dp == nil:
		return nil
	case n.Kind == KindExternal:
		return checkUplink(n)
	case n.Kind == KindBridged:
		return s.upBridged(n)
	}
	if n.Kind == KindNAT { // routing out of the host is what a NAT network is for
		if err := link.SetForwarding(true); err != nil {
			return fmt.Errorf("network %s: %w", n.Name, err)
		}
	}
	br := link.BridgeName(n.ID)
	gw := netip.PrefixFrom(n.Subnet.Gateway, n.Subnet.CIDR.Bits())
	if err := link.EnsureBridge(link.Bridge{Name: br, Gateway: gw, MTU: n.MTU}); err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	rt := &netRuntime{}
	if n.Subnet.DHCP {
		srv, err := dhcp.New(s.dhcpConfig(n, br), s.dhcpLookup(n.ID), s.dp.o.Log)
		if err == nil {
			srv.OnAck(s.leaseGranted)
			err = srv.Start()
		}
		if err != nil {
			return fmt.Errorf("network %s: DHCP server: %w", n.Name, err)
		}
		rt.dhcp = srv
	}
	srv, err := dns.New(dns.Config{Listen: netip.AddrPortFrom(n.Subnet.Gateway, 53), Domain: s.dp.o.Domain,
		Upstreams: s.dp.o.Upstreams, TTL: time.Minute}, s.dnsLookup, s.dp.o.Log)
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		rt.close()
		return fmt.Errorf("network %s: DNS server: %w", n.Name, err)
	}
	rt.dns = srv
	if rt.metadata, err = s.upMetadata(n, br); err != nil {
		rt.close()
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	s.dp.mu.Lock()
	s.dp.nets[n.ID] = rt
	s.dp.mu.Unlock()
	return nil
}

func (s *Service) dhcpConfig(n *Network, bridge string) dhcp.Config {
	cfg := dhcp.Config{Interface: bridge, ServerIP: n.Subnet.Gateway, Subnet: n.Subnet.CIDR,
		Router: n.Subnet.Gateway, DNS: n.Subnet.DNS, Domain: dnsName(n.Name) + "." + s.dp.o.Domain, MTU: n.MTU,
		LeaseTime: 12 * time.Hour}
	if len(cfg.DNS) == 0 {
		cfg.DNS = []netip.Addr{n.Subnet.Gateway}
	}
	for _, r := range n.Subnet.HostRoutes {
		cfg.Routes = append(cfg.Routes, dhcp.Route{Dest: r.Destination, Via: r.NextHop})
	}
	s.metadataDHCPRoute(n, &cfg)
	return cfg
}

// dhcpLookup answers only MACs of the network's ports, with their fixed IP: no lease for strangers.
func (s *Service) dhcpLookup(networkID string) dhcp.Lookup {
	return func(mac net.HardwareAddr) (dhcp.Reservation, bool) {
		var res dhcp.Reservation
		var ok bool
		s.db.View(func(tx *store.Tx) error {
			return ports.ForEach(tx, func(p *Port) error {
				if p.NetworkID == networkID && p.MAC == mac.String() && len(p.FixedIPs) > 0 {
					res, ok = dhcp.Reservation{MAC: mac, IP: p.FixedIPs[0], Hostname: dnsName(p.Name)}, true
				}
				return nil
			})
		})
		return res, ok
	}
}

// dnsName is a port's or network's name as a DNS label: lower case, '-' for '_' (names may hold
// both; DNS hostnames may not).
func dnsName(name string) string { return strings.ReplaceAll(strings.ToLower(name), "_", "-") }

// dnsLookup resolves <port>.<network>.<domain>. from the catalog, never from what a guest claims;
// names match as their DNS labels, without regard to case, as DNS names do.
func (s *Service) dnsLookup(name string) ([]netip.Addr, bool) {
	rest, ok := strings.CutSuffix(name, "."+s.dp.o.Domain+".")
	if !ok {
		return nil, false
	}
	portName, netName, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, false
	}
	var out []netip.Addr
	s.db.View(func(tx *store.Tx) error {
		return networks.ForEach(tx, func(n *Network) error {
			if dnsName(n.Name) != strings.ToLower(netName) {
				return nil
			}
			return ports.ForEach(tx, func(p *Port) error {
				if p.NetworkID == n.ID && dnsName(p.Name) == strings.ToLower(portName) {
					out = append(out, p.FixedIPs...)
				}
				return nil
			})
		})
	})
	return out, len(out) > 0
}

// upPort creates the port's tap on its network's bridge.
func (s *Service) upPort(p *Port) error {
	if s.dp == nil {
		return nil
	}
	n, err := s.Network(context.Background(), "", p.NetworkID)
	if err != nil {
		return err
	}
	mac, _ := net.ParseMAC(p.MAC)
	tap := link.Tap{Name: link.TapName(p.ID), Bridge: bridgeOf(n), MAC: mac, MTU: n.MTU}
	if err := link.EnsureTap(tap); err != nil {
		return fmt.Errorf("port %s: %w", p.Name, err)
	}
	return nil
}

// downNetwork stops the network's servers and removes its bridge (cloudlet's own: a bridged network's
// host bridge has another name and stays).
func (s *Service) downNetwork(id string) error {
	if s.dp == nil {
		return nil
	}
	s.dp.mu.Lock()
	rt := s.dp.nets[id]
	delete(s.dp.nets, id)
	if rt != nil {
		s.dp.retireLocked(rt)
	}
	s.dp.mu.Unlock()
	if rt != nil {
		rt.close()
	}
	return link.RemoveBridge(link.BridgeName(id))
}

func (s *Service) downPort(id string) error {
	if s.dp == nil {
		return nil
	}
	return link.RemoveTap(link.TapName(id))
}

func (rt *netRuntime) close() {
	if rt.dhcp != nil {
		rt.dhcp.Close()
	}
	if rt.dns != nil {
		rt.dns.Close()
	}
	if rt.metadata != nil {
		rt.metadata()
	}
}

// reapLinks removes cloudlet bridges and taps that belong to no network or port of the catalog.
func (s *Service) reapLinks(nets []*Network, prts []*Port) error {
	want := map[string]bool{}
	for _, n := range nets {
		want[link.BridgeName(n.ID)] = true
	}
	for _, p := range prts {
		want[link.TapName(p.ID)] = true
	}
	for _, prefix := range []string{link.TapPrefix, link.BridgePrefix} {
		names, err := link.List(prefix)
		if err != nil {
			return err
		}
		for _, name := range names {
			if want[name] {
				continue
			}
			s.dp.o.Log.Warn("removing a leaked link", "link", name)
			remove := link.RemoveTap
			if prefix == link.BridgePrefix {
				remove = link.RemoveBridge
			}
			if err := remove(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// CloseDatapath stops every DHCP and DNS server. Bridges, taps and firewall rules stay: guests keep
// their link, and stay firewalled, while the daemon restarts.
func (s *Service) CloseDatapath() {
	if s.dp == nil {
		return
	}
	s.dp.mu.Lock()
	defer s.dp.mu.Unlock()
	for id, rt := range s.dp.nets {
		rt.close()
		delete(s.dp.nets, id)
	}
}
