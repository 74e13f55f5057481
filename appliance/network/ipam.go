package network

import (
	"net/netip"

	"cloudlet/store"
)

// holder is what holds an address: a port or a floating IP, and the project that owns it.
type holder struct {
	what      string // "port web (id)", "floating IP 203.0.113.5 (id)"
	projectID string
}

// to names the holder to a caller of projectID: by name in its own project, else only "in use"
// (another project's floating IP on a shared network, say: a conflict says what, never whose).
func (h holder) to(projectID string) string {
	if h.projectID == projectID {
		return "already taken by " + h.what
	}
	return "in use"
}

// usedAddrs maps every address taken on a network to its holder: ports' fixed IPs and, on an
// external network, floating IPs. Both draw from the same pools, so nothing is handed out twice.
func usedAddrs(tx *store.Tx, networkID string) (map[netip.Addr]holder, error) {
	used := map[netip.Addr]holder{}
	err := ports.ForEach(tx, func(p *Port) error {
		if p.NetworkID == networkID {
			for _, ip := range p.FixedIPs {
				used[ip] = holder{"port " + p.Name + " (" + p.ID + ")", p.ProjectID}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = floatingIPs.ForEach(tx, func(f *FloatingIP) error {
		if f.NetworkID == networkID {
			used[f.IP] = holder{"floating IP " + f.IP.String() + " (" + f.ID + ")", f.ProjectID}
		}
		return nil
	})
	return used, err
}

// allocate returns the lowest free address of the subnet's allocation pools.
func allocate(s Subnet, used map[netip.Addr]holder) (netip.Addr, error) {
	for _, p := range s.Pools {
		for a := p.Start; !p.End.Less(a); a = a.Next() {
			if _, taken := used[a]; !taken {
				return a, nil
			}
		}
	}
	return netip.Addr{}, errConflict("no free address left in subnet %s", s.CIDR)
}

// claim checks that a requested address (what: "fixed IP", "floating IP") can be had by projectID:
// a host address of the subnet, not the gateway, not held by anything else (named only when the
// project's own). A fixed IP may lie outside the allocation pools (Neutron allows that).
func claim(what, projectID string, s Subnet, ip netip.Addr, used map[netip.Addr]holder) error {
	switch {
	case !inHosts(s.CIDR, ip):
		return errInvalid("%s %s is not a host address of subnet %s", what, ip, s.CIDR)
	case ip == s.Gateway:
		return errConflict("%s %s is the subnet's gateway", what, ip)
	}
	if h, taken := used[ip]; taken {
		return errConflict("%s %s is %s", what, ip, h.to(projectID))
	}
	return nil
}
