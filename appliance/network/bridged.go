package network

import (
	"errors"
	"fmt"
	"net/netip"

	"cloudlet/appliance/network/dhcp"
	"cloudlet/appliance/network/link"
)

// A bridged network puts instances on a bridge the host already has (its LAN), as Proxmox's vmbr0 or
// an Incus bridged NIC do. cloudlet adds its ports' taps to that bridge and filters those ports'
// traffic (anti-spoofing, security groups), and nothing else: the bridge, its addresses, the LAN's
// router and DNS stay the host's. With DHCP on, cloudlet's server answers only its own ports' MACs,
// from the host's address on the bridge; the LAN's own DHCP server must leave those MACs alone (a
// reservation, or a range that excludes the network's allocation pools), else a guest may take an
// address its port does not have and port security drops its traffic.

// upBridged checks the host bridge and starts the DHCP server for the network's ports.
func (s *Service) upBridged(n *Network) error {
	err := link.CheckBridge(n.Bridge)
	switch {
	case errors.Is(err, link.ErrNotFound):
		return errInvalid("network %s: the host has no bridge %s", n.Name, n.Bridge)
	case errors.Is(err, link.ErrWrongKind):
		return errInvalid("network %s: %v (create a bridge holding it, e.g. vmbr0, and name that)", n.Name, err)
	case err != nil:
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	if !n.Subnet.DHCP {
		return nil
	}
	server, err := hostAddrIn(n.Bridge, n.Subnet.CIDR)
	if err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	cfg := s.dhcpConfig(n, n.Bridge)
	cfg.ServerIP = server
	srv, err := dhcp.New(cfg, s.dhcpLookup(n.ID), s.dp.o.Log)
	if err == nil {
		srv.OnAck(s.leaseGranted)
		err = srv.Start()
	}
	if err != nil {
		return fmt.Errorf("network %s: DHCP server: %w", n.Name, err)
	}
	s.dp.mu.Lock()
	s.dp.nets[n.ID] = &netRuntime{dhcp: srv}
	s.dp.mu.Unlock()
	return nil
}

// hostAddrIn returns the host's address on bridge inside subnet: the DHCP server's identity there.
func hostAddrIn(bridge string, subnet netip.Prefix) (netip.Addr, error) {
	addrs, err := link.Addrs(bridge)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if subnet.Contains(a.Addr()) {
			return a.Addr(), nil
		}
	}
	return netip.Addr{}, errInvalid("bridge %s has no address in %s: cloudlet's DHCP server needs one there (or create the network with dhcp off)", bridge, subnet)
}

// bridgeOf is the bridge a network's taps join: the host's for a bridged network, else cloudlet's own.
func bridgeOf(n *Network) string {
	if n.Kind == KindBridged {
		return n.Bridge
	}
	return link.BridgeName(n.ID)
}
