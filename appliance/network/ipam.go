package network

import (
	"net/netip"

	"cloudlet/store"
)

// usedAddrs maps every fixed IP on a network to the port holding it.
func usedAddrs(tx *store.Tx, networkID string) (map[netip.Addr]string, error) {
	used := map[netip.Addr]string{}
	err := ports.ForEach(tx, func(p *Port) error {
		if p.NetworkID == networkID {
			for _, ip := range p.FixedIPs {
				used[ip] = p.Name + " (" + p.ID + ")"
			}
		}
		return nil
	})
	return used, err
}

// allocate returns the lowest free address of the subnet's allocation pools.
func allocate(s Subnet, used map[netip.Addr]string) (netip.Addr, error) {
	for _, p := range s.Pools {
		for a := p.Start; !p.End.Less(a); a = a.Next() {
			if _, taken := used[a]; !taken {
				return a, nil
			}
		}
	}
	return netip.Addr{}, errConflict("no free address left in subnet %s", s.CIDR)
}

// claim checks that a requested fixed IP can be had: a host address of the subnet, not the gateway,
// not another port's. It may lie outside the allocation pools (Neutron allows that).
func claim(s Subnet, ip netip.Addr, used map[netip.Addr]string) error {
	switch {
	case !inHosts(s.CIDR, ip):
		return errInvalid("fixed IP %s is not a host address of subnet %s", ip, s.CIDR)
	case ip == s.Gateway:
		return errConflict("fixed IP %s is the subnet's gateway", ip)
	}
	if holder, taken := used[ip]; taken {
		return errConflict("fixed IP %s is already taken by port %s", ip, holder)
	}
	return nil
}
