package compute

import "net/netip"

// checkAccessIPs validates Nova's accessIPv4 and accessIPv6, addresses a user records on an instance
// for others to reach it by (cloudlet routes nothing to them), and rewrites them in canonical form.
func checkAccessIPs(r *CreateRequest) error {
	for _, f := range []struct {
		field string
		v     *string
		v4    bool
	}{{"access_ipv4", &r.AccessIPv4, true}, {"access_ipv6", &r.AccessIPv6, false}} {
		if *f.v == "" {
			continue
		}
		a, err := netip.ParseAddr(*f.v)
		if err != nil || a.Zone() != "" || a.Is4() != f.v4 {
			return errInvalid("%s: %q is not an IPv%s address", f.field, *f.v, map[bool]string{true: "4", false: "6"}[f.v4])
		}
		*f.v = a.String()
	}
	return nil
}
