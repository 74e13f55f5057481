package network

import (
	"net/netip"

	"cloudlet/store"
)

// usedAddrs maps every address taken on a network to its holder: ports' fixed IPs and, on an
// external network, floating IPs. Both draw from the same pools, so nothing is handed out twice.
func usedAddrs(tx *store.Tx, networkID string) (map[netip.Addr]string, error) {
	used := map[netip.Addr]string{}
	err := ports.ForEach(tx, func(p *Port) error {
		if p.NetworkID == networkID {
			for _, ip := range p.FixedIPs {
				used[ip] = "port " + p.Name + " (" + p.ID + ")"
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = floatingIPs.ForEach(tx, func(f *FloatingIP) error {
		if f.NetworkID == networkID {
			used[f.IP] = "floating IP " + f.IP.String() + " (" + f.ID + ")"
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

// claim checks that a requested address (what: "fixed IP", "floating IP") can be had: a host
// address of the subnet, not the gateway, not held by anything else. A fixed IP may lie outside the
// allocation pools (Neutron allows that).
func claim(what string, s Subnet, ip netip.Addr, used map[netip.Addr]string) error {
	switch {
	case !inHosts(s.CIDR, ip):
		return errInvalid("%s %s is not a host address of subnet %s", what, ip, s.CIDR)
	case ip == s.Gateway:
		return errConflict("%s %s is the subnet's gateway", what, ip)
	}
	if holder, taken := used[ip]; taken {
		return errConflict("%s %s is already taken by %s", what, ip, holder)
	}
	return nil
}
