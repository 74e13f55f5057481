package firewall

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Sets are managed through the kernel's ipset netlink interface (no ipset command needed). Apply
// makes the wanted sets exist with exactly their members before any rule names them, and destroys
// the others once no rule names them any more.

// syncSets creates the missing sets of want and adds and deletes members until each live set holds
// exactly its wanted members. A set of the wrong kind is destroyed and made again.
func syncSets(want []Set) error {
	if len(want) == 0 {
		return nil
	}
	live, err := listSets()
	if err != nil {
		return err
	}
	for _, s := range want {
		l, ok := live[s.Name]
		if ok && l.Kind != s.Kind {
			if err := netlink.IpsetDestroy(s.Name); err != nil {
				return fmt.Errorf("ipset destroy %s (%s, want %s): %w", s.Name, l.Kind, s.Kind, err)
			}
			ok, l = false, Set{}
		}
		if !ok {
			if err := netlink.IpsetCreate(s.Name, "hash:ip", netlink.IpsetCreateOptions{Family: unix.AF_INET}); err != nil {
				return fmt.Errorf("ipset create %s %s: %w", s.Name, s.Kind, err)
			}
		}
		if err := syncMembers(s, l.Members); err != nil {
			return err
		}
	}
	return nil
}

// syncMembers adds what s lacks in the live set and deletes what s does not have.
func syncMembers(s Set, live []netip.Addr) error {
	for _, a := range s.Members {
		if _, found := slices.BinarySearchFunc(live, a, netip.Addr.Compare); !found {
			if err := netlink.IpsetAdd(s.Name, &netlink.IPSetEntry{IP: a.AsSlice()}); err != nil {
				return fmt.Errorf("ipset add %s %s: %w", s.Name, a, err)
			}
		}
	}
	for _, a := range live {
		if _, found := slices.BinarySearchFunc(s.Members, a, netip.Addr.Compare); !found {
			if err := netlink.IpsetDel(s.Name, &netlink.IPSetEntry{IP: a.AsSlice()}); err != nil {
				return fmt.Errorf("ipset del %s %s: %w", s.Name, a, err)
			}
		}
	}
	return nil
}

// removeStaleSets destroys every cloudlet set that want does not have; run it after the rules
// that named them are gone (the kernel refuses to destroy a set in use).
func removeStaleSets(want []Set) error {
	live, err := listSets()
	if errors.Is(err, errNoIpset) {
		return nil // a kernel without ip_set holds no set of ours
	}
	if err != nil {
		return err
	}
	for _, name := range sortedNames(live) {
		if !slices.ContainsFunc(want, func(s Set) bool { return s.Name == name }) {
			if err := netlink.IpsetDestroy(name); err != nil {
				return fmt.Errorf("ipset destroy %s: %w", name, err)
			}
		}
	}
	return nil
}

// errNoIpset: the kernel has no ip_set support (the module is neither built in nor loadable).
var errNoIpset = errors.New("the kernel has no ipset support, which security groups need (modprobe ip_set xt_set)")

// liveSets returns cloudlet's live sets sorted by name, as Render prints them.
func liveSets() ([]Set, error) {
	live, err := listSets()
	if errors.Is(err, errNoIpset) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Set
	for _, name := range sortedNames(live) {
		out = append(out, live[name])
	}
	return out, nil
}

// listSets returns the live sets whose names start with Prefix, members sorted. A large set comes
// in several netlink messages; they are merged here.
func listSets() (map[string]Set, error) {
	all, err := netlink.IpsetListAll()
	// nfnetlink answers EINVAL for a subsystem it does not have; a dump takes no arguments to refuse.
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPROTONOSUPPORT) {
		return nil, fmt.Errorf("ipset list: %w: %w", errNoIpset, err)
	}
	if err != nil {
		return nil, fmt.Errorf("ipset list: %w", err)
	}
	out := map[string]Set{}
	for _, r := range all {
		if !strings.HasPrefix(r.SetName, Prefix) {
			continue
		}
		s := out[r.SetName]
		s.Name = r.SetName
		if r.TypeName != "" {
			s.Kind = r.TypeName + " family " + familyName(r.Family)
		}
		for _, e := range r.Entries {
			if a, ok := netip.AddrFromSlice(e.IP); ok {
				s.Members = append(s.Members, a.Unmap())
			}
		}
		out[r.SetName] = s
	}
	for name, s := range out {
		slices.SortFunc(s.Members, netip.Addr.Compare)
		out[name] = s
	}
	return out, nil
}

func familyName(f uint8) string {
	switch f {
	case unix.AF_INET:
		return "inet"
	case unix.AF_INET6:
		return "inet6"
	}
	return fmt.Sprint(f)
}

func sortedNames(sets map[string]Set) []string {
	var out []string
	for name := range sets {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}
