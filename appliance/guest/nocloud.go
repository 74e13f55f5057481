package guest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
)

// The NoCloud documents follow cloud-init's DataSourceNoCloud: meta-data and vendor-data are YAML (each
// value written as a JSON string, which YAML reads as a double-quoted scalar), network-config is
// version 2 (JSON, a subset of YAML). The test guest reads meta-data line by line, so each key is on
// its own line at the top level.

// MetaData renders NoCloud's meta-data: instance-id (the UUID), local-hostname and the public keys.
func MetaData(inst Instance) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "instance-id: %s\n", quote(inst.ID))
	fmt.Fprintf(&b, "local-hostname: %s\n", quote(inst.Hostname))
	if len(inst.PublicKeys) > 0 {
		b.WriteString("public-keys:\n")
		for _, k := range inst.PublicKeys {
			fmt.Fprintf(&b, "  - %s\n", quote(k.Data))
		}
	}
	return b.Bytes()
}

// VendorData renders cloudlet's own cloud-config: the phone-home that marks the guest ready and, when
// a password was asked for, the default user's password as a SHA-512 crypt hash (cloud-init's
// cc_set_passwords hands a value shaped like a hash to chpasswd -e) without expiry.
func VendorData(inst Instance) []byte {
	var b bytes.Buffer
	b.WriteString("#cloud-config\n")
	fmt.Fprintf(&b, "phone_home:\n  url: %s\n  post: [instance_id]\n  tries: 10\n", quote(ReadyURL))
	if inst.PasswordHash != "" {
		fmt.Fprintf(&b, "password: %s\nchpasswd:\n  expire: false\n", quote(inst.PasswordHash))
	}
	return b.Bytes()
}

// NetworkConfig renders network-config version 2: one ethernet per NIC matched by MAC, with its fixed
// address, the gateway as default route, DNS and MTU. DHCP still answers images that ignore it.
//
// The default route is gateway4, not a routes entry: cloud-init renders gateway4 as ifupdown's own
// "gateway" line (ip route), but a route as "post-up route add … || true", which needs net-tools — absent
// from Debian's minimal images, so the guest silently came up without a default route.
func NetworkConfig(inst Instance) []byte {
	type ethernet struct {
		Match       map[string]string   `json:"match"`
		DHCP4       bool                `json:"dhcp4"`
		Addresses   []string            `json:"addresses,omitempty"`
		Gateway4    string              `json:"gateway4,omitempty"`
		Nameservers map[string][]string `json:"nameservers,omitempty"`
		MTU         int                 `json:"mtu,omitempty"`
	}
	eths := map[string]ethernet{}
	for i, n := range inst.NICs {
		e := ethernet{Match: map[string]string{"macaddress": n.MAC}, MTU: n.MTU, DHCP4: !n.Address.IsValid()}
		if n.Address.IsValid() {
			e.Addresses = []string{n.Address.String()}
		}
		if n.Gateway.IsValid() && i == 0 { // one default route: through the first NIC, as DHCP gives it
			e.Gateway4 = n.Gateway.String()
		}
		if len(n.DNS) > 0 {
			e.Nameservers = map[string][]string{"addresses": addrStrings(n.DNS)}
		}
		eths["eth"+strconv.Itoa(i)] = e
	}
	return mustJSON(map[string]any{"version": 2, "ethernets": eths})
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// quote writes s as a JSON string: a valid YAML double-quoted scalar whatever s holds.
func quote(s string) string { return string(mustJSON(s)) }

// mustJSON encodes values built from plain fields, which cannot fail.
func mustJSON(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("guest: encode %T: %v", v, err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
