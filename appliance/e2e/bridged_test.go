package e2e

import (
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"cloudlet/appliance/network"
	"cloudlet/appliance/network/link"
)

// A bridged network puts a guest on the host's own LAN bridge: it gets its reserved address from
// cloudlet's DHCP server there, reaches a LAN host directly (no NAT), is reachable from it once a
// security group rule allows it, and the bridge is left as it was when the network goes.
func TestBridgedNetworkJoinsTheHostsLAN(t *testing.T) {
	o := newOuter(t)
	addr, remotes := o.serve(t)
	lan := hostLANBridge(t) // lanbr0 holds uplink0 and the host's address 203.0.113.1; outer is a LAN host
	c := newCloud(t, "")

	for _, bad := range []struct{ bridge, want string }{{"nosuchbr", "no bridge"}, {"lo", "not a bridge"}} {
		status, body := apiStatus(t, c, "POST", "/api/v1/networks", `{"name":"x","kind":"bridged","bridge":"`+bad.bridge+`","subnet":{"cidr":"203.0.113.0/24"}}`)
		if status != 400 || !strings.Contains(body, bad.want) {
			t.Errorf("bridged network on %s: %d %s, want 400 %q", bad.bridge, status, body, bad.want)
		}
	}
	var n network.Network
	if err := c.Do("POST", "/api/v1/networks", map[string]any{"name": "home", "kind": "bridged", "bridge": lan,
		"subnet": map[string]any{"cidr": "203.0.113.0/24", "gateway": outerIP, "dhcp": true,
			"allocation_pools": []map[string]string{{"start": "203.0.113.100", "end": "203.0.113.110"}}}}, &n); err != nil {
		t.Fatal(err)
	}
	inst := c.Create("lanvm", kernelImage, map[string]any{"networks": []string{"home"}})
	log := c.WaitConsole(inst.ID, ready, 1, bootWait)
	if !strings.Contains(log, "CLOUDLET-GUEST-READY hostname=lanvm ip=203.0.113.100") {
		t.Fatalf("the guest did not get 203.0.113.100 on the LAN; console:\n%s", Tail(log, 1500))
	}
	sh := c.shell(inst.ID, "lanvm")

	if body, ok := sh.fetch("http://" + addr + "/"); !ok || body != "outside" {
		t.Errorf("the guest could not reach the LAN host: %q", body)
	}
	if got := remotes(); len(got) == 0 || got[len(got)-1] != "203.0.113.100" {
		t.Errorf("the LAN host saw %v, want the guest's own address (no NAT on a bridged network)", got)
	}
	if body, err := o.get(t, "http://203.0.113.100/"); err == nil {
		t.Errorf("the LAN host reached the guest through the default group: %q", body)
	}
	if err := c.Do("POST", "/api/v1/security-groups/default/rules", map[string]any{"direction": "ingress", "protocol": "tcp",
		"port_range_min": 80, "port_range_max": 80}, nil); err != nil {
		t.Fatal(err)
	}
	if body, err := o.get(t, "http://203.0.113.100/"); err != nil || !strings.Contains(body, "cloudlet-testguest") {
		t.Errorf("with tcp/80 open the LAN host could not reach the guest: %q %v", body, err)
	}
	if rules := cloudletRules(t); strings.Contains(rules, "-o "+lan+" -j DROP") || strings.Contains(rules, "-s 203.0.113.0/24") {
		t.Errorf("cloudlet isolates or NATs the host's LAN bridge:\n%s", rules)
	}

	c.DeleteAndWait(inst.ID)
	if err := c.Do("DELETE", "/api/v1/networks/home", nil, nil); err != nil {
		t.Fatal(err)
	}
	l, err := netlink.LinkByName(lan)
	if err != nil {
		t.Fatalf("the host's bridge is gone with the network: %v", err)
	}
	if addrs, _ := netlink.AddrList(l, netlink.FAMILY_V4); len(addrs) != 1 || addrs[0].IP.String() != outerHostIP {
		t.Errorf("the host's bridge has addresses %v after the network was deleted, want only %s", addrs, outerHostIP)
	}
	if taps, _ := link.List(link.TapPrefix); len(taps) != 0 {
		t.Errorf("taps left: %v", taps)
	}
}

// hostLANBridge turns the outer uplink into the host's LAN: a bridge lanbr0 holding uplink0 and the
// host's address, as a Proxmox vmbr0 holds eth0. Removed when the test ends.
func hostLANBridge(t *testing.T) string {
	t.Helper()
	const name = "lanbr0"
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := netlink.LinkAdd(br); err != nil {
		t.Fatalf("add %s: %v", name, err)
	}
	t.Cleanup(func() { netlink.LinkDel(br) })
	up, err := netlink.LinkByName(outerUplink)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr(outerHostIP + "/24")
	steps := []func() error{
		func() error { return netlink.AddrDel(up, addr) },
		func() error { return netlink.LinkSetMaster(up, br) },
		func() error { return netlink.AddrAdd(br, addr) },
		func() error { return netlink.LinkSetUp(br) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("make %s, step %d: %v", name, i, err)
		}
	}
	return name
}
