package e2e

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/network"
)

const guestPage = "cloudlet-testguest" // what the test guest's httpd answers on /

// A guest on a NAT network is published two ways, each reachable from the outside namespace and from
// the host itself: a floating IP of the external network "public" (only once a security group lets
// port 80 in), and a port forward of host port 8080 (a published port passes the groups). Conflicts
// and bad input are refused; deleting the instance and the networks leaves no rule, no address, no
// published record behind.
func TestFloatingIPsAndPortForwardsReachAGuest(t *testing.T) {
	o := newOuter(t)
	c := newCloud(t, "")
	addr, remotes := o.serve(t)
	if body, err := hostGet("http://" + addr + "/"); err != nil || body != "outside" || fmt.Sprint(remotes()) != "["+outerHostIP+"]" {
		t.Fatalf("the outside from the host: %q %v (remotes %v), want %q from %s", body, err, remotes(), "outside", outerHostIP)
	}
	createNetworks(t, c)
	inst := c.Create("web", kernelImage, map[string]any{"networks": []string{"lan"}})
	c.WaitConsole(inst.ID, ready, 1, bootWait)
	port := instancePort(t, c, inst)

	t.Run("floating IP", func(t *testing.T) { checkFloatingIP(t, c, o, port) })
	t.Run("port forward", func(t *testing.T) { checkPortForward(t, c, o, port) })

	status, body := apiStatus(t, c, "POST", "/api/v1/floating-ips", `{"network":"lan"}`)
	if status != 400 || !strings.Contains(body, "network lan is not external") {
		t.Errorf("a floating IP on the NAT network: %d %s, want 400 naming lan", status, body)
	}
	checkDeleteLeavesNothing(t, c, inst, port)
}

// createNetworks makes the external network "public" on the uplink (floating IPs .10-.20) and the
// NAT network "lan", after refusing external networks the host cannot carry.
func createNetworks(t *testing.T, c *Cloud) {
	t.Helper()
	for _, bad := range []struct{ body, want string }{
		{`{"name":"x","external":true,"uplink":"nope0","subnet":{"cidr":"198.51.100.0/24"}}`, "400 nope0"},
		{`{"name":"x","external":true,"uplink":"uplink0","subnet":{"cidr":"203.0.113.0/24","gateway":"203.0.113.2"}}`, "409 " + outerHostIP},
	} {
		status, body := apiStatus(t, c, "POST", "/api/v1/networks", bad.body)
		if code, word, _ := strings.Cut(bad.want, " "); fmt.Sprint(status) != code || !strings.Contains(body, word) {
			t.Errorf("POST /api/v1/networks %s: %d %s, want %s", bad.body, status, body, bad.want)
		}
	}
	for _, n := range []map[string]any{
		{"name": "public", "external": true, "uplink": outerUplink, "subnet": map[string]any{"cidr": "203.0.113.0/24",
			"gateway": outerIP, "allocation_pools": []map[string]string{{"start": "203.0.113.10", "end": "203.0.113.20"}}}},
		{"name": "lan", "subnet": map[string]any{"cidr": "10.67.0.0/24", "dhcp": true}},
	} {
		if err := c.Do("POST", "/api/v1/networks", n, nil); err != nil {
			t.Fatalf("create network %s: %v", n["name"], err)
		}
	}
	status, body := apiStatus(t, c, "POST", "/api/v1/networks", `{"name":"mine","external":true,"uplink":"uplink0","subnet":{"cidr":"203.0.113.0/25"}}`)
	if status != 409 || !strings.Contains(body, "public") {
		t.Errorf("a second external network over public: %d %s, want 409 naming public", status, body)
	}
}

func instancePort(t *testing.T, c *Cloud, inst compute.Instance) network.Port {
	t.Helper()
	var ports []network.Port
	if err := c.Do("GET", "/api/v1/ports", nil, &ports); err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if p.DeviceID == inst.ID {
			return p
		}
	}
	t.Fatalf("instance %s has no port among %+v", inst.Name, ports)
	return network.Port{}
}

// checkFloatingIP: associated, the floating IP is on the uplink but the default group keeps the
// outside out; a rule for port 80 lets it in; the host reaches it too; disassociated, it is gone.
func checkFloatingIP(t *testing.T, c *Cloud, o *outer, port network.Port) {
	var fip network.FloatingIP
	if err := c.Do("POST", "/api/v1/floating-ips", map[string]any{"network": "public", "port": port.Name}, &fip); err != nil {
		t.Fatal(err)
	}
	url := "http://" + fip.IP.String() + "/"
	if fip.Status != network.FloatingActive || fip.FixedIP != port.FixedIPs[0] || !uplinkHas(t, fip.IP) {
		t.Errorf("floating IP %+v: want ACTIVE on %s and on %s", fip, port.FixedIPs[0], outerUplink)
	}
	if body, err := o.get(t, url); err == nil {
		t.Errorf("with only the default group the outside reached %s: %q", url, body)
	}
	if err := c.Do("POST", "/api/v1/security-groups/default/rules", map[string]any{"direction": "ingress", "protocol": "tcp",
		"port_range_min": 80, "port_range_max": 80}, nil); err != nil {
		t.Fatal(err)
	}
	wantPage(t, "outside", url, o.get)
	wantPage(t, "host", url, func(_ *testing.T, u string) (string, error) { return hostGet(u) })
	checkRestartRepairsTheUplink(t, c, fip.IP)
	wantPage(t, "outside after a restart", url, o.get)
	status, body := apiStatus(t, c, "POST", "/api/v1/floating-ips", `{"network":"public","port":"`+port.Name+`"}`)
	if status != 409 || !strings.Contains(body, port.Name) || !strings.Contains(body, fip.IP.String()) {
		t.Errorf("a second floating IP for %s: %d %s, want 409 naming both", port.Name, status, body)
	}
	if err := c.Do("PUT", "/api/v1/floating-ips/"+fip.ID, map[string]any{"port": ""}, &fip); err != nil || fip.Status != network.FloatingDown {
		t.Fatalf("disassociate: %+v %v", fip, err)
	}
	if body, err := o.get(t, url); err == nil {
		t.Errorf("the outside still reaches disassociated %s: %q", url, body)
	}
	if body, err := hostGet(url); err == nil {
		t.Errorf("the host still reaches disassociated %s: %q", url, body)
	}
	if uplinkHas(t, fip.IP) {
		t.Errorf("disassociated %s is still on %s", fip.IP, outerUplink)
	}
	if err := c.Do("DELETE", "/api/v1/floating-ips/"+fip.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// checkRestartRepairsTheUplink: after a kill -9, someone removes the associated floating IP's /32
// and leaves a stray one inside the pools; the restarted daemon puts back the one and removes the other.
func checkRestartRepairsTheUplink(t *testing.T, c *Cloud, fip netip.Addr) {
	t.Helper()
	c.D.Kill()
	l, err := netlink.LinkByName(outerUplink)
	if err != nil {
		t.Fatal(err)
	}
	stray := netip.MustParseAddr("203.0.113.19")
	for _, change := range []struct {
		fn func(netlink.Link, *netlink.Addr) error
		ip netip.Addr
	}{{netlink.AddrDel, fip}, {netlink.AddrAdd, stray}} {
		a, _ := netlink.ParseAddr(change.ip.String() + "/32")
		if err := change.fn(l, a); err != nil {
			t.Fatalf("change %s on %s: %v", a, outerUplink, err)
		}
	}
	c.D.Start(c.T) // the daemon lives as long as the whole test, not this subtest
	c.D.WaitReady(t)
	if !uplinkHas(t, fip) || uplinkHas(t, stray) {
		t.Errorf("after a restart %s holds %v, want the associated %s and not the stray %s", outerUplink, uplinkAddrs(t), fip, stray)
	}
	if !strings.Contains(c.D.Stderr(), "removing a floating IP address no association holds") {
		t.Errorf("the restart did not log the stray address it removed; stderr:\n%s", c.D.Stderr())
	}
}

// checkPortForward: host tcp/8080 reaches the guest's port 80 from the outside and from the host
// (its loopback too, which no guest can use to reach the host's loopback services);
// a second forward of 8080 and one of the daemon's own API port are refused; deleted, it is gone.
func checkPortForward(t *testing.T, c *Cloud, o *outer, port network.Port) {
	var pf network.PortForward
	req := map[string]any{"port": port.Name, "protocol": "tcp", "host_port": 8080, "internal_port": 80}
	if err := c.Do("POST", "/api/v1/port-forwards", req, &pf); err != nil {
		t.Fatal(err)
	}
	url := "http://" + outerHostIP + ":8080/"
	wantPage(t, "outside", url, o.get)
	wantPage(t, "host", url, func(_ *testing.T, u string) (string, error) { return hostGet(u) })
	checkLoopbackForward(t, c, port)
	status, body := apiStatus(t, c, "POST", "/api/v1/port-forwards", `{"port":"`+port.Name+`","protocol":"tcp","host_port":8080,"internal_port":81}`)
	if status != 409 || !strings.Contains(body, "8080/tcp") || !strings.Contains(body, port.Name) {
		t.Errorf("a second forward of 8080/tcp: %d %s, want 409 naming the holder", status, body)
	}
	apiPort := netip.MustParseAddrPort(c.D.Listen).Port()
	status, body = apiStatus(t, c, "POST", "/api/v1/port-forwards", fmt.Sprintf(`{"port":%q,"protocol":"tcp","host_port":%d,"internal_port":80}`, port.Name, apiPort))
	if status != 409 || !strings.Contains(body, "in use on the host") {
		t.Errorf("a forward of the daemon's own API port %d: %d %s, want 409", apiPort, status, body)
	}
	if err := c.Do("DELETE", "/api/v1/port-forwards/"+pf.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if body, err := o.get(t, url); err == nil {
		t.Errorf("the outside still reaches deleted forward %s: %q", url, body)
	}
	checkLoopbackForwardGone(t, port)
}

// checkDeleteLeavesNothing: deleting the instance disassociates its floating IP (kept, DOWN) and
// deletes its port forwards; deleting the floating IP and every network leaves no cloudlet rule and
// no floating IP address on the uplink.
func checkDeleteLeavesNothing(t *testing.T, c *Cloud, inst compute.Instance, port network.Port) {
	t.Helper()
	var fip network.FloatingIP
	if err := c.Do("POST", "/api/v1/floating-ips", map[string]any{"network": "public", "port": port.Name}, &fip); err != nil {
		t.Fatal(err)
	}
	req := map[string]any{"port": port.Name, "protocol": "udp", "host_port": 5353, "internal_port": 53}
	if err := c.Do("POST", "/api/v1/port-forwards", req, nil); err != nil {
		t.Fatal(err)
	}
	c.DeleteAndWait(inst.ID)
	if err := c.Do("GET", "/api/v1/floating-ips/"+fip.ID, nil, &fip); err != nil || fip.Status != network.FloatingDown || fip.PortID != "" {
		t.Errorf("the deleted instance's floating IP: %+v %v, want kept and DOWN", fip, err)
	}
	var pfs []network.PortForward
	if err := c.Do("GET", "/api/v1/port-forwards", nil, &pfs); err != nil || len(pfs) != 0 {
		t.Errorf("port forwards after the instance was deleted: %+v %v", pfs, err)
	}
	if uplinkHas(t, fip.IP) {
		t.Errorf("the deleted instance's floating IP %s is still on %s", fip.IP, outerUplink)
	}
	for _, del := range []string{"/api/v1/floating-ips/" + fip.ID, "/api/v1/networks/lan", "/api/v1/networks/public", "/api/v1/networks/default"} {
		if err := c.Do("DELETE", del, nil, nil); err != nil {
			t.Fatalf("DELETE %s: %v", del, err)
		}
	}
	if rules := iptablesSave(t); strings.Contains(rules, "CLOUDLET") {
		t.Errorf("cloudlet rules left after every network was deleted:\n%s", rules)
	}
	if got := uplinkAddrs(t); len(got) != 1 || got[0] != outerHostIP+"/24" {
		t.Errorf("%s holds %v after everything was deleted, want only %s/24", outerUplink, got, outerHostIP)
	}
}

// wantPage fetches url (from where) and wants the guest's page.
func wantPage(t *testing.T, where, url string, get func(*testing.T, string) (string, error)) {
	t.Helper()
	body, err := get(t, url)
	if err != nil || !strings.Contains(body, guestPage) {
		t.Errorf("GET %s from the %s: %q %v, want the guest's page", url, where, body, err)
	}
}

func uplinkAddrs(t *testing.T) []string {
	t.Helper()
	l, err := netlink.LinkByName(outerUplink)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range addrs {
		out = append(out, a.IPNet.String())
	}
	return out
}

func uplinkHas(t *testing.T, ip netip.Addr) bool {
	t.Helper()
	for _, a := range uplinkAddrs(t) {
		if a == ip.String()+"/32" {
			return true
		}
	}
	return false
}

func iptablesSave(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("iptables-save").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save: %v: %s", err, out)
	}
	return string(out)
}
