package e2e

import (
	"context"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/network"
	"cloudlet/appliance/network/link"
)

// Networks come up on the host (here: the test's private namespace): a bridge per network with the
// gateway address, a tap per port on it, DNS answering the port's name from the catalog; they survive a
// daemon kill -9 and go away with their records. Bad networks are refused naming the problem.
func TestNetworkDatapath(t *testing.T) {
	c := newCloud(t, "")
	var nets []network.Network
	if err := c.Do("GET", "/api/v1/networks", nil, &nets); err != nil || len(nets) != 1 || nets[0].Name != "default" {
		t.Fatalf("networks on first start: %+v (%v), want network default", nets, err)
	}
	checkBridge(t, nets[0])

	var n network.Network
	if err := c.Do("POST", "/api/v1/networks", map[string]any{"name": "n1", "subnet": map[string]any{"cidr": "10.77.0.0/24", "dhcp": true}}, &n); err != nil {
		t.Fatal(err)
	}
	checkBridge(t, n)
	var p network.Port
	if err := c.Do("POST", "/api/v1/ports", map[string]any{"name": "web", "network": "n1"}, &p); err != nil {
		t.Fatal(err)
	}
	tap := checkTap(t, p, n)
	if got := resolve(t, "10.77.0.1", "web.n1.cloudlet"); got != p.FixedIPs[0].String() {
		t.Errorf("web.n1.cloudlet resolved to %q, want %s", got, p.FixedIPs[0])
	}

	c.D.Kill()
	c.D.Start(t)
	c.D.WaitReady(t)
	checkBridge(t, n)
	if l, err := netlink.LinkByName(tap); err != nil || l.Attrs().MasterIndex == 0 {
		t.Errorf("tap %s after a restart: %v", tap, err)
	}
	if got := resolve(t, "10.77.0.1", "web.n1.cloudlet"); got != p.FixedIPs[0].String() {
		t.Errorf("after a restart web.n1.cloudlet resolved to %q", got)
	}
	status, body := apiStatus(t, c, "POST", "/api/v1/networks", `{"name":"clash","subnet":{"cidr":"10.77.0.0/16"}}`)
	if status != 409 || !strings.Contains(body, "overlaps") {
		t.Errorf("overlapping network: %d %s", status, body)
	}
	status, body = apiStatus(t, c, "DELETE", "/api/v1/networks/n1", "")
	if status != 409 || !strings.Contains(body, "ports") {
		t.Errorf("delete a network with a port: %d %s", status, body)
	}
	if err := c.Do("DELETE", "/api/v1/ports/web", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(tap); err == nil {
		t.Errorf("tap %s still there after its port was deleted", tap)
	}
	if err := c.Do("DELETE", "/api/v1/networks/n1", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(link.BridgeName(n.ID)); err == nil {
		t.Errorf("bridge of n1 still there after the network was deleted")
	}
}

func checkBridge(t *testing.T, n network.Network) {
	t.Helper()
	l, err := netlink.LinkByName(link.BridgeName(n.ID))
	if err != nil {
		t.Fatalf("bridge of network %s: %v", n.Name, err)
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || addrs[0].IP.String() != n.Subnet.Gateway.String() {
		t.Errorf("bridge of %s has addresses %v (%v), want only the gateway %s", n.Name, addrs, err, n.Subnet.Gateway)
	}
	if l.Attrs().OperState != netlink.OperUp && l.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("bridge of %s is down", n.Name)
	}
}

func checkTap(t *testing.T, p network.Port, n network.Network) string {
	t.Helper()
	name := link.TapName(p.ID)
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatalf("tap of port %s: %v", p.Name, err)
	}
	br, _ := netlink.LinkByName(link.BridgeName(n.ID))
	if br == nil || l.Attrs().MasterIndex != br.Attrs().Index {
		t.Errorf("tap %s is not on the bridge of %s", name, n.Name)
	}
	return name
}

// resolve asks the DNS server at server:53 for name's IPv4 address.
func resolve(t *testing.T, server, name string) string {
	t.Helper()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", server+":53")
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := r.LookupHost(ctx, name)
	if err != nil || len(addrs) == 0 {
		t.Errorf("resolve %s at %s: %v", name, server, err)
		return ""
	}
	return addrs[0]
}

// A guest on a network gets its port's reserved address from cloudlet's DHCP server; the address shows
// in instance show; deleting the instance removes its port and tap.
func TestGuestGetsItsReservedAddressByDHCP(t *testing.T) {
	c := newCloud(t, "")
	if err := c.Do("POST", "/api/v1/networks", map[string]any{"name": "lan", "subnet": map[string]any{"cidr": "10.66.0.0/24", "dhcp": true}}, nil); err != nil {
		t.Fatal(err)
	}
	inst := c.Create("vm", kernelImage, map[string]any{"networks": []string{"lan"}})
	log := c.WaitConsole(inst.ID, ready, 1, bootWait)
	got := c.Show(inst.ID)
	if len(got.Addresses) != 1 || got.Addresses[0].Network != "lan" {
		t.Fatalf("addresses %+v, want one on lan", got.Addresses)
	}
	ip := got.Addresses[0].IP
	if !strings.Contains(log, "CLOUDLET-GUEST-READY hostname=vm ip="+ip) {
		t.Errorf("the guest did not get its reserved address %s by DHCP; console:\n%s", ip, Tail(log, 1500))
	}
	if !slices.ContainsFunc(got.Timeline, func(s compute.Stage) bool { return s.Name == compute.StageDHCPLease }) {
		t.Errorf("the boot timeline has no %s stage: %+v", compute.StageDHCPLease, got.Timeline)
	}
	var ports []network.Port
	if err := c.Do("GET", "/api/v1/ports", nil, &ports); err != nil || len(ports) != 1 || ports[0].DeviceID != inst.ID {
		t.Fatalf("ports %+v (%v)", ports, err)
	}
	tap := link.TapName(ports[0].ID)
	status, body := apiStatus(t, c, "POST", "/api/v1/instances", `{"name":"x","image":"tg","flavor":"m1.tiny","networks":["nope"]}`)
	if status != 400 || !strings.Contains(body, "nope") {
		t.Errorf("unknown network: %d %s", status, body)
	}
	c.DeleteAndWait(inst.ID)
	if err := c.Do("GET", "/api/v1/ports", nil, &ports); err != nil || len(ports) != 0 {
		t.Errorf("ports after the instance was deleted: %+v (%v)", ports, err)
	}
	if _, err := netlink.LinkByName(tap); err == nil {
		t.Errorf("tap %s left behind", tap)
	}
}

// A NAT network turns IP forwarding on (in the daemon's namespace, here the test's).
func TestNATNetworkEnablesForwarding(t *testing.T) {
	newCloud(t, "") // its first start makes the NAT network "default"
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil || strings.TrimSpace(string(data)) != "1" {
		t.Errorf("ip_forward = %q (%v), want 1 once a NAT network is up", data, err)
	}
}

// Security groups through the API: the project's default group exists, ports get it, rules are checked.
func TestSecurityGroupsAPI(t *testing.T) {
	c := newCloud(t, "")
	var groups []network.SecurityGroup
	if err := c.Do("GET", "/api/v1/security-groups", nil, &groups); err != nil || len(groups) != 1 || groups[0].Name != "default" {
		t.Fatalf("groups %+v (%v), want the default group", groups, err)
	}
	var p network.Port
	if err := c.Do("POST", "/api/v1/ports", map[string]any{"network": "default"}, &p); err != nil || len(p.SecurityGroups) != 1 || p.SecurityGroups[0] != groups[0].ID {
		t.Fatalf("port %+v (%v), want the default group", p, err)
	}
	if err := c.Do("POST", "/api/v1/security-groups", map[string]any{"name": "ssh"}, nil); err != nil {
		t.Fatal(err)
	}
	status, body := apiStatus(t, c, "POST", "/api/v1/security-groups/ssh/rules", `{"direction":"ingress","protocol":"tcp","port_range_min":22,"port_range_max":22,"remote_ip_prefix":"192.0.2.0/24"}`)
	if status != 201 {
		t.Errorf("add rule: %d %s", status, body)
	}
	status, body = apiStatus(t, c, "POST", "/api/v1/security-groups/ssh/rules", `{"direction":"ingress","protocol":"tcp","port_range_min":1,"port_range_max":70000}`)
	if status != 400 || !strings.Contains(body, "70000") {
		t.Errorf("bad rule: %d %s", status, body)
	}
	status, body = apiStatus(t, c, "DELETE", "/api/v1/security-groups/default", "")
	if status != 409 {
		t.Errorf("delete the default group: %d %s", status, body)
	}
}

// The DNS domain is configurable: names are <port>.<network>.<dns_domain>.
func TestDNSDomainIsConfigurable(t *testing.T) {
	c := newCloud(t, `{"dns_domain":"lab.test"}`)
	var p network.Port
	if err := c.Do("POST", "/api/v1/ports", map[string]any{"name": "db", "network": "default"}, &p); err != nil {
		t.Fatal(err)
	}
	var n network.Network
	if err := c.Do("GET", "/api/v1/networks/default", nil, &n); err != nil {
		t.Fatal(err)
	}
	if got := resolve(t, n.Subnet.Gateway.String(), "db.default.lab.test"); got != p.FixedIPs[0].String() {
		t.Errorf("db.default.lab.test resolved to %q, want %s", got, p.FixedIPs[0])
	}
}
