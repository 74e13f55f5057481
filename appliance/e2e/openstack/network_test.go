package openstack

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"cloudlet/appliance/network"
	"cloudlet/web/client"
)

// extUplink is the host interface the external network "public" sits on (in the test's
// namespace): floating IPs land on it as /32s.
const extUplink = "osext0"

// TestOpenStackCLIBuildsANetworkWithSubnetGroupPortAndFloatingIP: as a member, the real openstack
// CLI creates a network (cloudlet picks an automatic range, no subnet shown), declares its subnet
// (the network is re-addressed), makes a security group with an SSH rule, a port, a floating IP of
// the admin's shared external network, associates and disassociates it, then deletes everything in
// reverse; each step is checked in cloudlet's own API, and the deletes a port still blocks and a
// network over the project's quota fail.
func TestOpenStackCLIBuildsANetworkWithSubnetGroupPortAndFloatingIP(t *testing.T) {
	addUplink(t)
	s := newSite(t)
	s.root("POST", "/api/v1/networks", map[string]any{"name": "public", "external": true, "shared": true,
		"uplink": extUplink, "subnet": map[string]any{"cidr": "198.51.100.0/24", "gateway": "198.51.100.254",
			"allocation_pools": []map[string]string{{"start": "198.51.100.10", "end": "198.51.100.20"}}}}, nil)
	api := s.as("member")

	n1 := cliJSON[struct{ ID string }](t, s, "network", "create", "n1")
	var native network.Network
	get(t, api, "/api/v1/networks/n1", &native)
	if native.ID != n1.ID || !native.Subnet.Auto {
		t.Fatalf("network n1 in /api/v1: %+v, want id %s with an automatic subnet", native, n1.ID)
	}
	auto := native.Subnet.Gateway
	if !hostHas(t, auto) {
		t.Errorf("the host has no %s: n1's bridge is not on its automatic range", auto)
	}
	s1 := cliJSON[struct{ ID, CIDR string }](t, s, "subnet", "create", "--network", "n1", "--subnet-range", "10.77.0.0/24", "s1")
	get(t, api, "/api/v1/networks/n1", &native)
	if s1.CIDR != "10.77.0.0/24" || native.Subnet.CIDR.String() != "10.77.0.0/24" || native.Subnet.Name != "s1" || native.Subnet.Auto {
		t.Fatalf("subnet s1 %+v; network n1's subnet in /api/v1 %+v: want 10.77.0.0/24 named s1", s1, native.Subnet)
	}
	if !hostHas(t, netip.MustParseAddr("10.77.0.1")) || hostHas(t, auto) {
		t.Errorf("after subnet create the host should have n1's new gateway 10.77.0.1 and no longer %s", auto)
	}
	checkNetworkListed(t, s, n1.ID, s1.ID)
	s.root("PUT", "/api/v1/quotas/"+siteProject, map[string]any{"limits": map[string]int{"networks": 1}}, nil)
	if _, stderr, err := s.tryCLI("member", "network", "create", "n2"); err == nil || !strings.Contains(stderr, "quota exceeded") {
		t.Errorf("network create over the quota: %v %s, want the quota's refusal", err, stderr)
	}
	s.root("DELETE", "/api/v1/quotas/"+siteProject, nil, nil)

	rule := groupWithSSH(t, s, api)
	p1 := cliJSON[struct{ ID string }](t, s, "port", "create", "--network", "n1", "p1")
	var port network.Port
	get(t, api, "/api/v1/ports/"+p1.ID, &port)
	if port.NetworkID != n1.ID || len(port.FixedIPs) != 1 || !native.Subnet.CIDR.Contains(port.FixedIPs[0]) {
		t.Fatalf("port p1 in /api/v1: %+v, want one address of 10.77.0.0/24 on n1", port)
	}
	ports := cliJSON[[]struct{ ID string }](t, s, "port", "list", "--network", "n1")
	if len(ports) != 1 || ports[0].ID != p1.ID {
		t.Errorf("port list --network n1 = %+v, want p1 alone", ports)
	}
	if _, stderr, err := s.tryCLI("member", "network", "delete", "n1"); err == nil || !strings.Contains(stderr, "p1") {
		t.Errorf("network delete with p1 on it: %v %s, want a refusal naming p1", err, stderr)
	}
	if _, stderr, err := s.tryCLI("member", "subnet", "delete", "s1"); err == nil || !strings.Contains(stderr, p1.ID) {
		t.Errorf("subnet delete with p1 on it: %v %s, want a refusal naming p1", err, stderr)
	}

	fip := floatingIPRoundTrip(t, s, api, port)
	s.cli("member", "floating", "ip", "delete", fip)
	s.cli("member", "port", "delete", "p1")
	s.cli("member", "security", "group", "rule", "delete", rule)
	s.cli("member", "security", "group", "delete", "g1")
	s.cli("member", "subnet", "delete", "s1")
	get(t, api, "/api/v1/networks/n1", &native)
	if !native.Subnet.Auto {
		t.Errorf("n1's subnet after subnet delete: %+v, want automatic again", native.Subnet)
	}
	s.cli("member", "network", "delete", "n1")
	for _, path := range []string{"/api/v1/networks/n1", "/api/v1/ports/" + p1.ID, "/api/v1/floating-ips/" + fip, "/api/v1/security-groups/g1"} {
		if err := api.Do(context.Background(), "GET", path, nil, nil); status(err) != http.StatusNotFound {
			t.Errorf("GET %s after the deletes: %v, want 404", path, err)
		}
	}
}

// groupWithSSH creates group g1 with a rule letting SSH in, checks both in /api/v1 and in the
// CLI's rule list, and returns the rule's id.
func groupWithSSH(t *testing.T, s *site, api *client.Client) string {
	t.Helper()
	g := cliJSON[struct{ ID string }](t, s, "security", "group", "create", "g1")
	r := cliJSON[struct{ ID string }](t, s, "security", "group", "rule", "create", "--protocol", "tcp",
		"--dst-port", "22", "--remote-ip", "0.0.0.0/0", "g1")
	var native network.SecurityGroup
	get(t, api, "/api/v1/security-groups/g1", &native)
	want := network.Rule{ID: r.ID, Direction: "ingress", Protocol: "tcp", PortMin: 22, PortMax: 22,
		RemoteCIDR: netip.MustParsePrefix("0.0.0.0/0")}
	if native.ID != g.ID || len(native.Rules) != 1 || native.Rules[0] != want {
		t.Fatalf("group g1 in /api/v1: %+v, want %s with the one rule %+v", native, g.ID, want)
	}
	rules := cliJSON[[]struct {
		ID         string `json:"ID"`
		PortRange  string `json:"Port Range"`
		IPProtocol string `json:"IP Protocol"`
	}](t, s, "security", "group", "rule", "list", "g1")
	if len(rules) != 1 || rules[0].ID != r.ID || rules[0].PortRange != "22:22" || rules[0].IPProtocol != "tcp" {
		t.Errorf("security group rule list g1 = %+v, want the tcp 22:22 rule %s", rules, r.ID)
	}
	return r.ID
}

// floatingIPRoundTrip creates a floating IP of "public", associates it with port p1 and
// disassociates it, checking /api/v1 each time; it returns the floating IP's id.
func floatingIPRoundTrip(t *testing.T, s *site, api *client.Client, port network.Port) string {
	t.Helper()
	fip := cliJSON[struct {
		ID      string
		Address string `json:"floating_ip_address"`
	}](t, s, "floating", "ip", "create", "public")
	var native network.FloatingIP
	get(t, api, "/api/v1/floating-ips/"+fip.ID, &native)
	if native.IP.String() != fip.Address || native.PortID != "" {
		t.Fatalf("floating IP in /api/v1: %+v, want %s, not associated", native, fip.Address)
	}
	s.cli("member", "floating", "ip", "set", "--port", "p1", fip.Address)
	get(t, api, "/api/v1/floating-ips/"+fip.ID, &native)
	if native.PortID != port.ID || native.FixedIP != port.FixedIPs[0] {
		t.Errorf("floating IP after set --port p1: %+v, want on %s (%s)", native, port.ID, port.FixedIPs[0])
	}
	s.cli("member", "floating", "ip", "unset", "--port", fip.Address)
	get(t, api, "/api/v1/floating-ips/"+fip.ID, &native)
	if native.PortID != "" {
		t.Errorf("floating IP after unset --port: %+v, want not associated", native)
	}
	return fip.ID
}

// checkNetworkListed: network list and show name n1 with its subnet.
func checkNetworkListed(t *testing.T, s *site, id, subnet string) {
	t.Helper()
	list := cliJSON[[]struct {
		ID      string
		Name    string
		Subnets []string
	}](t, s, "network", "list", "--name", "n1")
	if len(list) != 1 || list[0].ID != id || len(list[0].Subnets) != 1 || list[0].Subnets[0] != subnet {
		t.Errorf("network list --name n1 = %+v, want %s with subnet %s", list, id, subnet)
	}
	shown := cliJSON[struct {
		ID      string
		Status  string
		Subnets []string
	}](t, s, "network", "show", "n1")
	if shown.ID != id || shown.Status != "ACTIVE" || len(shown.Subnets) != 1 {
		t.Errorf("network show n1 = %+v, want %s ACTIVE with its subnet", shown, id)
	}
}

// cliJSON runs a CLI command as member with -f json and decodes its output.
func cliJSON[T any](t *testing.T, s *site, args ...string) T {
	t.Helper()
	var out T
	raw := s.cli("member", append(args, "-f", "json")...)
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatalf("openstack %s: %v in %s", strings.Join(args, " "), err, raw)
	}
	return out
}

// get reads path from /api/v1 afresh into out (a pointer to T: omitted fields read as zero),
// ending the test on an error.
func get[T any](t *testing.T, api *client.Client, path string, out *T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var fresh T
	if err := api.Do(ctx, "GET", path, nil, &fresh); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	*out = fresh
}

// status is an API error's HTTP status (0 for none or another error).
func status(err error) int {
	if e, ok := err.(*client.Error); ok {
		return e.Code
	}
	return 0
}

// addUplink makes interface extUplink (a veth whose peer stays unused beside it: the kernel may
// lack the dummy driver) with the host's address 198.51.100.1/24, in the test's namespace, removed
// when the test ends.
func addUplink(t *testing.T) {
	t.Helper()
	d := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: extUplink}, PeerName: extUplink + "p"}
	if err := netlink.LinkAdd(d); err != nil {
		t.Fatalf("add %s: %v", extUplink, err)
	}
	t.Cleanup(func() {
		if err := netlink.LinkDel(d); err != nil {
			t.Errorf("delete %s: %v", extUplink, err)
		}
	})
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("198.51.100.1"), Mask: net.CIDRMask(24, 32)}}
	if err := netlink.AddrAdd(d, addr); err != nil {
		t.Fatalf("address %s: %v", extUplink, err)
	}
	if err := netlink.LinkSetUp(d); err != nil {
		t.Fatalf("up %s: %v", extUplink, err)
	}
}

// TestOpenStackCLIRenamesNetworkResourcesAndListsRoutersAndExtensions: as a member, the real CLI
// renames a network, its subnet, a security group (with a new description) and a port, each seen in
// /api/v1; lists the NAT network's router and the network extensions (only those served).
func TestOpenStackCLIRenamesNetworkResourcesAndListsRoutersAndExtensions(t *testing.T) {
	s := newSite(t)
	api := s.as("member")
	n := cliJSON[struct{ ID string }](t, s, "network", "create", "n1")
	s.cli("member", "subnet", "create", "--network", "n1", "--subnet-range", "10.78.0.0/24", "s1")
	s.cli("member", "security", "group", "create", "g1")
	p := cliJSON[struct{ ID string }](t, s, "port", "create", "--network", "n1", "p1")

	s.cli("member", "network", "set", "--name", "n2", "n1")
	s.cli("member", "subnet", "set", "--name", "s2", "s1")
	s.cli("member", "security", "group", "set", "--name", "g2", "--description", "web servers", "g1")
	s.cli("member", "port", "set", "--name", "p2", "p1")
	var native network.Network
	get(t, api, "/api/v1/networks/"+n.ID, &native)
	var group network.SecurityGroup
	get(t, api, "/api/v1/security-groups/g2", &group)
	var port network.Port
	get(t, api, "/api/v1/ports/"+p.ID, &port)
	if native.Name != "n2" || native.Subnet.Name != "s2" || group.Description != "web servers" || port.Name != "p2" {
		t.Errorf("after the renames: network %s subnet %s, group %s %q, port %s; want n2, s2, g2 'web servers', p2",
			native.Name, native.Subnet.Name, group.Name, group.Description, port.Name)
	}
	if shown := cliJSON[struct{ Name string }](t, s, "port", "show", "p2"); shown.Name != "p2" {
		t.Errorf("port show p2 = %+v", shown)
	}

	routers := cliJSON[[]struct{ Name, Status string }](t, s, "router", "list")
	names := map[string]string{}
	for _, r := range routers {
		names[r.Name] = r.Status
	}
	if names["n2"] != "ACTIVE" {
		t.Errorf("router list = %+v, want n2's router, ACTIVE", routers)
	}
	exts := cliJSON[[]struct{ Alias string }](t, s, "extension", "list", "--network")
	aliases := map[string]bool{}
	for _, e := range exts {
		aliases[e.Alias] = true
	}
	if len(exts) != 6 || !aliases["security-group"] || !aliases["external-net"] || !aliases["router"] {
		t.Errorf("extension list --network = %+v, want the six served ones", exts)
	}
}

// hostHas reports whether an interface of the test's namespace (the daemon's) has address a.
func hostHas(t *testing.T, a netip.Addr) bool {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("the host's addresses: %v", err)
	}
	for _, x := range addrs {
		if n, ok := x.(*net.IPNet); ok && n.IP.Equal(net.IP(a.AsSlice())) {
			return true
		}
	}
	return false
}
