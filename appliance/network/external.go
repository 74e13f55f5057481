package network

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"cloudlet/appliance/network/link"
	"cloudlet/store"
)

// An external network has no bridge, DHCP or DNS of cloudlet's: it is the LAN of a host interface
// (its uplink), or a range routed to it. Its datapath is one /32 per associated floating IP on the
// uplink, so the host answers ARP for the address; the firewall's DNAT does the rest.

// checkUplink makes sure the external network's uplink exists and that its pools hand out none of
// the host's own addresses there (a floating IP on one would take the host's traffic away).
// Floating IPs' own /32s are not the host's addresses.
func checkUplink(n *Network) error {
	addrs, err := link.Addrs(n.Uplink)
	if errors.Is(err, link.ErrNotFound) {
		return errInvalid("network %s: uplink %s: the host has no such interface", n.Name, n.Uplink)
	}
	if err != nil {
		return fmt.Errorf("network %s: %w", n.Name, err)
	}
	for _, a := range addrs {
		if a.Bits() < 32 && inPools(n.Subnet.Pools, a.Addr()) {
			return errConflict("network %s: the allocation pools contain %s, the host's own address on %s", n.Name, a.Addr(), n.Uplink)
		}
	}
	return nil
}

// publish applies every published address after a change: the floating IPs' /32s, then the
// firewall rules (DNAT, SNAT and their filter rules).
func (s *Service) publish(ctx context.Context) error {
	if err := s.syncFloatingAddrs(false); err != nil {
		return err
	}
	return s.syncFirewall(ctx)
}

// syncFloatingAddrs makes each external network's uplink hold, as /32s, exactly the associated
// floating IPs of the catalog: missing ones are added, /32s inside the pools that no associated
// floating IP holds are removed (disassociated, or left by a crash: logged at start). An uplink
// that is gone is logged and skipped; the addresses come back when it does and cloudlet restarts.
func (s *Service) syncFloatingAddrs(atStart bool) error {
	if s.dp == nil {
		return nil
	}
	s.dp.addrMu.Lock()
	defer s.dp.addrMu.Unlock()
	uplinks, err := s.floatingAddrs()
	if err != nil {
		return fmt.Errorf("floating IP addresses: read the catalog: %w", err)
	}
	var errs []error
	for name, u := range uplinks {
		errs = append(errs, s.syncUplink(name, u, atStart))
	}
	return errors.Join(errs...)
}

// uplinkAddrs is what one uplink should hold: the associated floating IPs, out of the pools of the
// external networks on it.
type uplinkAddrs struct {
	pools []Pool
	want  map[netip.Addr]bool
}

func (s *Service) floatingAddrs() (map[string]*uplinkAddrs, error) {
	uplinks := map[string]*uplinkAddrs{}
	byNet := map[string]*uplinkAddrs{}
	err := s.db.View(func(tx *store.Tx) error {
		err := networks.ForEach(tx, func(n *Network) error {
			if n.Kind != KindExternal {
				return nil
			}
			u := uplinks[n.Uplink]
			if u == nil {
				u = &uplinkAddrs{want: map[netip.Addr]bool{}}
				uplinks[n.Uplink] = u
			}
			u.pools = append(u.pools, n.Subnet.Pools...)
			byNet[n.ID] = u
			return nil
		})
		if err != nil {
			return err
		}
		return floatingIPs.ForEach(tx, func(f *FloatingIP) error {
			if u := byNet[f.NetworkID]; u != nil && f.PortID != "" {
				u.want[f.IP] = true
			}
			return nil
		})
	})
	return uplinks, err
}

func (s *Service) syncUplink(name string, u *uplinkAddrs, atStart bool) error {
	have, err := link.Addrs(name)
	if errors.Is(err, link.ErrNotFound) {
		s.dp.o.Log.Warn("the uplink of an external network is missing: its floating IPs get no traffic", "uplink", name)
		return nil
	}
	if err != nil {
		return err
	}
	held := map[netip.Addr]bool{}
	for _, a := range have {
		ip := a.Addr()
		if a.Bits() != 32 || !inPools(u.pools, ip) {
			continue
		}
		held[ip] = true
		if u.want[ip] {
			continue
		}
		if atStart {
			s.dp.o.Log.Warn("removing a floating IP address no association holds", "uplink", name, "address", ip)
		}
		if err := link.RemoveHostAddr(name, ip); err != nil {
			return err
		}
	}
	for ip := range u.want {
		if !held[ip] {
			if err := link.AddHostAddr(name, ip); err != nil {
				return err
			}
		}
	}
	return nil
}
