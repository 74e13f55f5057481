package qga

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInterfacesAreParsedAndLoopbackLeftOut(t *testing.T) {
	path := agentWith(t, map[string]string{"guest-network-get-interfaces": `[
		{"name": "lo", "hardware-address": "00:00:00:00:00:00",
		 "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8}]},
		{"name": "eth0", "hardware-address": "52:54:00:AB:cd:01", "statistics": {"rx-bytes": 1},
		 "ip-addresses": [{"ip-address-type": "ipv4", "ip-address": "10.71.0.5", "prefix": 24},
		                  {"ip-address-type": "ipv6", "ip-address": "fe80::5054:ff:feab:cd01%eth0", "prefix": 64}]}]`})
	got, err := dial(t, path).Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	want := []Interface{{Name: "eth0", MAC: "52:54:00:ab:cd:01", IPs: []netip.Prefix{
		netip.MustParsePrefix("10.71.0.5/24"), netip.MustParsePrefix("fe80::5054:ff:feab:cd01/64")}}}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("interfaces (-want +got):\n%s", diff)
	}
}

func TestInterfacesThatLieAreRefused(t *testing.T) {
	for name, reply := range map[string]string{
		"an address that does not parse": `[{"name": "eth0", "ip-addresses": [{"ip-address": "10.0.0.999", "prefix": 24}]}]`,
		"a path as an address":           `[{"name": "eth0", "ip-addresses": [{"ip-address": "/etc/shadow", "prefix": 24}]}]`,
		"a prefix out of range":          `[{"name": "eth0", "ip-addresses": [{"ip-address": "10.0.0.1", "prefix": 99}]}]`,
		"a MAC that does not parse":      `[{"name": "eth0", "hardware-address": "$(reboot)"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			path := agentWith(t, map[string]string{"guest-network-get-interfaces": reply})
			if got, err := dial(t, path).Interfaces(); !errors.Is(err, ErrMalformed) {
				t.Errorf("interfaces %v, err %v; want %v", got, err, ErrMalformed)
			}
		})
	}
}

func TestManyInterfacesAndAddressesAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := range 20 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"name": "eth", "ip-addresses": [`)
		for j := range 20 {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"ip-address": "10.1.1.1", "prefix": 32}`)
		}
		b.WriteString("]}")
	}
	b.WriteString("]")
	path := agentWith(t, map[string]string{"guest-network-get-interfaces": b.String()})
	got, err := dial(t, path).Interfaces()
	if err != nil || len(got) != MaxInterfaces || len(got[0].IPs) != MaxIPs {
		t.Fatalf("%d interfaces, %v; want %d with %d addresses each", len(got), err, MaxInterfaces, MaxIPs)
	}
}

func TestHostNameAndOSAreCutAndStrippedOfControlCharacters(t *testing.T) {
	huge := strings.Repeat("h", 10000)
	path := agentWith(t, map[string]string{
		"guest-get-host-name": `{"host-name": "` + huge + `"}`,
		"guest-get-osinfo":    `{"pretty-name": "Debian\u001b]0;pwned\u0007 12\n\u202e(bookworm)"}`,
	})
	c := dial(t, path)
	host, err := c.HostName()
	if err != nil || host != huge[:MaxName] {
		t.Errorf("host name of %d bytes, %v; want it cut to %d", len(host), err, MaxName)
	}
	os, err := c.OSInfo()
	if err != nil || os != "Debian]0;pwned 12(bookworm)" {
		t.Errorf("os %q, %v; want it without control characters", os, err)
	}
}

func TestOSInfoWithoutAPrettyNameIsNameAndVersion(t *testing.T) {
	path := agentWith(t, map[string]string{"guest-get-osinfo": `{"name": "Alpine Linux", "version": "3.20"}`})
	if got, err := dial(t, path).OSInfo(); err != nil || got != "Alpine Linux 3.20" {
		t.Errorf("os %q, %v; want Alpine Linux 3.20", got, err)
	}
}
