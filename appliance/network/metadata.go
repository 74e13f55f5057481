package network

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/network/dhcp"
	"cloudlet/appliance/network/firewall"
	"cloudlet/store"
)

// How a guest reaches the metadata service at 169.254.169.254:80, served by the daemon itself:
//
//   - The daemon listens on each NAT and isolated network's gateway address, port MetadataPort, with
//     the socket bound to that network's bridge (SO_BINDTODEVICE): only packets arriving on that
//     bridge reach it, so the listener's network is the caller's network, and the TCP peer address
//     (kept by DNAT, and trustworthy because anti-spoofing drops forged sources in CLOUDLET-INPUT) is
//     the caller's port.
//   - CLOUDLET-PREROUTING DNATs tcp to 169.254.169.254:80 arriving on the bridge to that listener, as
//     Neutron's L3 agent redirects it to its metadata proxy.
//   - DHCP option 121 routes 169.254.169.254/32 through the gateway, so a guest reaches it whatever its
//     default route (Neutron's DHCP agent does the same on networks without a router).
//
// Why not 169.254.169.254/32 on each bridge with a listener there: the address would become the
// host's own (a local route in the host's table), so on a host that is itself a cloud VM the host's
// own requests to its cloud's metadata service would be answered by cloudlet instead. The DNAT
// touches only packets arriving on cloudlet's bridges and lives in cloudlet's own chains, rebuilt
// from the catalog at start; the listener goes with the network's other servers (created with it,
// closed with it, opened again by the next daemon: guests retry meanwhile).

// DefaultMetadataPort is where the daemon listens on each network's gateway for the metadata
// service (Nova's metadata API port); guests never see it: their 169.254.169.254:80 is DNATed there.
const DefaultMetadataPort = 8775

// metadataRoute is the host route DHCP gives every guest (option 121), so the metadata service is
// reached through the gateway even by a guest whose default route points elsewhere, as Neutron does.
var metadataRoute = netip.PrefixFrom(firewall.MetadataAddr, 32)

// MetadataServer serves the metadata service on a listener the datapath opened on one network's
// bridge, until stop is called. The appliance wires the guest service's server here.
type MetadataServer interface {
	ServeMetadata(networkID string, ln net.Listener) (stop func())
}

// hasMetadata reports whether n gets a metadata service: networks whose bridge and gateway are the
// daemon's own (a bridged network's gateway is the LAN's router; an external network has no guests).
func (s *Service) hasMetadata(n *Network) bool {
	return s.metadataPort != 0 && (n.Kind == KindNAT || n.Kind == KindIsolated)
}

// withMetadata fills the metadata listener of the firewall model's own networks.
func (s *Service) withMetadata(m *firewall.Model) {
	if s.metadataPort == 0 {
		return
	}
	for i, n := range m.Networks {
		if !n.Shared && n.Gateway.IsValid() {
			m.Networks[i].Metadata = netip.AddrPortFrom(n.Gateway, uint16(s.metadataPort))
		}
	}
}

// metadataDHCPRoute adds the route to 169.254.169.254 through the gateway to cfg.
func (s *Service) metadataDHCPRoute(n *Network, cfg *dhcp.Config) {
	if s.hasMetadata(n) {
		cfg.Routes = append(cfg.Routes, dhcp.Route{Dest: metadataRoute, Via: n.Subnet.Gateway})
	}
}

// upMetadata opens n's metadata listener on its gateway address, bound to its bridge (so only
// guests on that bridge reach it, and the network it belongs to is the network they are on), and
// hands it to the metadata server; it returns the stop function, nil when n has no metadata service.
func (s *Service) upMetadata(n *Network, bridge string) (func(), error) {
	if !s.hasMetadata(n) || s.dp.o.Metadata == nil {
		return nil, nil
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = unix.BindToDevice(int(fd), bridge) }); err != nil {
			return err
		}
		return serr
	}}
	addr := netip.AddrPortFrom(n.Subnet.Gateway, uint16(s.metadataPort)).String()
	ln, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		return nil, fmt.Errorf("metadata listener %s on %s: %w", addr, bridge, err)
	}
	return s.dp.o.Metadata.ServeMetadata(n.ID, ln), nil
}

// PortAt returns the port that holds addr on the network networkID: the one a metadata request from
// addr on that network's bridge comes from. fault.NotFound when none does.
func (s *Service) PortAt(_ context.Context, networkID string, addr netip.Addr) (*Port, error) {
	var found *Port
	err := s.db.View(func(tx *store.Tx) error {
		return ports.ForEach(tx, func(p *Port) error {
			if found == nil && p.NetworkID == networkID && containsAddr(p.FixedIPs, addr) {
				found = p
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("port at %s on network %s: %w", addr, networkID, err)
	}
	if found == nil {
		return nil, fault.New(fault.NotFound, "no port holds %s on network %s", addr, networkID)
	}
	return found, nil
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}
