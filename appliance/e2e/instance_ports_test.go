package e2e

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/network"
	"cloudlet/appliance/network/link"
)

// A port made beforehand with a chosen address is given to an instance (Nova's --nic port-id): the
// guest gets that address by DHCP and instance show lists it. While the instance uses it the API
// cannot delete the port or give it to another instance; deleting the instance keeps the port,
// unbound, with its tap, and a second instance (made with the CLI's --port) then boots on it. Unknown
// ports are refused.
func TestInstanceOnAGivenPort(t *testing.T) {
	c := newCloud(t, "")
	if err := c.Do("POST", "/api/v1/networks", map[string]any{"name": "lan", "subnet": map[string]any{"cidr": "10.68.0.0/24", "dhcp": true}}, nil); err != nil {
		t.Fatal(err)
	}
	var p network.Port
	if err := c.Do("POST", "/api/v1/ports", map[string]any{"name": "fixed", "network": "lan", "fixed_ip": "10.68.0.50"}, &p); err != nil {
		t.Fatal(err)
	}
	tap := link.TapName(p.ID)

	inst := c.Create("vm", kernelImage, map[string]any{"ports": []string{"fixed"}})
	log := c.WaitConsole(inst.ID, ready, 1, bootWait)
	if !strings.Contains(log, "ip=10.68.0.50") {
		t.Errorf("the guest did not get the given port's address 10.68.0.50 by DHCP; console:\n%s", Tail(log, 1500))
	}
	got := c.Show(inst.ID)
	if len(got.Addresses) != 1 || got.Addresses[0].Network != "lan" || got.Addresses[0].IP != "10.68.0.50" || got.Addresses[0].MAC != p.MAC {
		t.Errorf("addresses %+v, want the given port's 10.68.0.50 on lan", got.Addresses)
	}
	if len(got.Ports) != 1 || got.Ports[0] != p.ID || len(got.PortIDs) != 1 {
		t.Errorf("ports %v port_ids %v, want the given port only", got.Ports, got.PortIDs)
	}
	if bound := showPort(t, c, "fixed"); bound.DeviceID != inst.ID || bound.DeviceOwner != network.OwnerInstance {
		t.Errorf("port while in use: device %q owner %q, want the instance", bound.DeviceID, bound.DeviceOwner)
	}

	status, body := apiStatus(t, c, "DELETE", "/api/v1/ports/fixed", "")
	if status != 409 || !strings.Contains(body, "instance vm") {
		t.Errorf("delete a port in use: %d %s, want 409 naming instance vm", status, body)
	}
	status, body = apiStatus(t, c, "POST", "/api/v1/instances", `{"name":"thief","image":"tg","flavor":"m1.tiny","ports":["fixed"]}`)
	if status != 409 || !strings.Contains(body, "instance vm") {
		t.Errorf("a second instance on the port: %d %s, want 409 naming instance vm", status, body)
	}
	status, body = apiStatus(t, c, "POST", "/api/v1/instances", `{"name":"x","image":"tg","flavor":"m1.tiny","ports":["nope"]}`)
	if status != 400 || !strings.Contains(body, "nope") {
		t.Errorf("unknown port: %d %s, want 400 naming it", status, body)
	}

	c.DeleteAndWait(inst.ID)
	if kept := showPort(t, c, "fixed"); kept.DeviceID != "" || kept.DeviceOwner != "" || kept.FixedIPs[0] != netip.MustParseAddr("10.68.0.50") {
		t.Errorf("port after its instance was deleted: %+v, want it unbound with its address", kept)
	}
	if _, err := netlink.LinkByName(tap); err != nil {
		t.Errorf("tap %s of the kept port: %v", tap, err)
	}

	if out, errOut, code := cli(t, "instance", "create", "vm2", "--image", kernelImage, "--port", p.ID, "--socket", c.D.Socket); code != 0 {
		t.Fatalf("instance create vm2 --port %s: exit %d\n%s%s", p.ID, code, out, errOut)
	}
	second := c.Show("vm2")
	if log := c.WaitConsole(second.ID, ready, 1, bootWait); !strings.Contains(log, "ip=10.68.0.50") {
		t.Errorf("a second instance on the kept port did not get 10.68.0.50; console:\n%s", Tail(log, 1500))
	}
	c.DeleteAndWait(second.ID)
	if err := c.Do("DELETE", "/api/v1/ports/fixed", nil, nil); err != nil {
		t.Errorf("delete the free port: %v", err)
	}
	if _, err := netlink.LinkByName(tap); err == nil {
		t.Errorf("tap %s left after its port was deleted", tap)
	}
}

// Without networks or ports an instance of the admin project gets a NIC on network default (which the
// first start made); "networks": [] means no NIC at all.
func TestDefaultNIC(t *testing.T) {
	c := newCloud(t, "")
	var def network.Network
	if err := c.Do("GET", "/api/v1/networks/default", nil, &def); err != nil {
		t.Fatal(err)
	}
	implicit := c.Create("implicit", kernelImage, nil)
	log := c.WaitConsole(implicit.ID, ready, 1, bootWait)
	got := c.Show(implicit.ID)
	if len(got.Addresses) != 1 || got.Addresses[0].Network != "default" {
		t.Fatalf("addresses %+v, want one on default", got.Addresses)
	}
	if ip := netip.MustParseAddr(got.Addresses[0].IP); !def.Subnet.CIDR.Contains(ip) || !strings.Contains(log, "ip="+ip.String()) {
		t.Errorf("the guest did not get %s on default (%s) by DHCP; console:\n%s", ip, def.Subnet.CIDR, Tail(log, 1500))
	}

	none := c.Create("none", kernelImage, noNIC)
	log = c.WaitConsole(none.ID, ready, 1, bootWait)
	got = c.WaitState(none.ID, compute.VMActive, compute.PowerRunning, bootWait)
	if len(got.Addresses) != 0 || len(got.Networks) != 0 || strings.Contains(cmdline(got.PID), "virtio-net") {
		t.Errorf(`"networks": []: addresses %+v, networks %v, argv %s; want no NIC`, got.Addresses, got.Networks, cmdline(got.PID))
	}
	if !strings.Contains(log, "ip=none") {
		t.Errorf("the guest without a NIC has an address; console:\n%s", Tail(log, 1500))
	}
}

func showPort(t *testing.T, c *Cloud, ref string) network.Port {
	t.Helper()
	var p network.Port
	if err := c.Do("GET", "/api/v1/ports/"+ref, nil, &p); err != nil {
		t.Fatalf("show port %s: %v", ref, err)
	}
	return p
}
