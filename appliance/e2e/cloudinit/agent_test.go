package cloudinit

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/e2e"
)

// agentWait bounds how long the guest agent's information takes to show once cloud-init has finished:
// the agent answered long before; one poll interval (30 s) and the API's latency on a loaded host.
const agentWait = 2 * time.Minute

// checkGuestAgentInShow checks that show (API and `cloudlet instance show`) carries what the real
// guest's qemu-guest-agent says: its hostname, its OS and the port's fixed address on an interface
// with the port's MAC.
func checkGuestAgentInShow(t *testing.T, c *e2e.Cloud, tc cloudInitCase) {
	t.Helper()
	inst := c.Show(tc.name)
	if len(inst.Addresses) != 1 {
		t.Fatalf("%s: addresses %v, want one port", tc.name, inst.Addresses)
	}
	port := inst.Addresses[0]
	g := waitGuestAgent(t, c, tc.name, func(g *compute.GuestInfo) bool { return hasAddress(g, port) })
	t.Logf("%s: guest_agent %+v", tc.name, *g)
	if g.Hostname != tc.hostname || !strings.Contains(g.OS, "Debian") || g.UpdatedAt.IsZero() {
		t.Errorf("%s: guest_agent %+v, want hostname %s, a Debian OS, updated_at", tc.name, g, tc.hostname)
	}
	out, errOut, code := e2e.CLI(t, cloudletBin, "instance", "show", tc.name, "--socket", c.D.Socket)
	if code != 0 || !strings.Contains(out, "guest_agent.hostname") || !strings.Contains(out, tc.hostname) ||
		!strings.Contains(out, port.MAC+" "+port.IP+"/") {
		t.Errorf("%s: instance show: exit %d\n%s%s\nwant guest_agent rows with %s and %s %s", tc.name, code, out, errOut,
			tc.hostname, port.MAC, port.IP)
	}
}

// hasAddress reports whether the guest agent reports the port's address on the port's MAC.
func hasAddress(g *compute.GuestInfo, port compute.Address) bool {
	if g == nil {
		return false
	}
	for _, in := range g.Interfaces {
		if !strings.EqualFold(in.MAC, port.MAC) {
			continue
		}
		if slices.ContainsFunc(in.IPs, func(ip string) bool {
			p, err := netip.ParsePrefix(ip)
			return err == nil && p.Addr().String() == port.IP
		}) {
			return true
		}
	}
	return false
}

// waitGuestAgent polls show until its guest_agent satisfies ok.
func waitGuestAgent(t *testing.T, c *e2e.Cloud, name string, ok func(*compute.GuestInfo) bool) *compute.GuestInfo {
	t.Helper()
	deadline := time.Now().Add(agentWait)
	for {
		var d compute.InstanceDetail
		if err := c.Do("GET", "/api/v1/instances/"+name, nil, &d); err != nil {
			t.Fatalf("show %s: %v", name, err)
		}
		if ok(d.GuestAgent) {
			return d.GuestAgent
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: guest_agent %+v within %s, want the guest's addresses", name, d.GuestAgent, agentWait)
		}
		time.Sleep(time.Second)
	}
}

// checkStopThroughTheAgent stops the instance and checks that the stop was asked through the guest
// agent (the instance.shutdown_requested event), that the guest powered itself off within stop_timeout
// (no instance.shutdown_timeout event: QEMU was not told to quit) and that show then has no guest agent
// information. (The kernel's last console line, "reboot: Power down", is no proof either way: QEMU
// exits at the power-off with whatever its serial port has not yet passed to the console socket.)
func checkStopThroughTheAgent(t *testing.T, c *e2e.Cloud, name string) {
	t.Helper()
	id := c.Show(name).ID
	asked := time.Now()
	c.Act(name, "stop")
	c.WaitState(name, compute.VMStopped, compute.PowerShutdown, 3*time.Minute)
	t.Logf("%s: stopped %v after the stop was asked", name, time.Since(asked).Round(time.Second))
	var events []struct {
		Type string         `json:"type"`
		ID   string         `json:"id"`
		Data map[string]any `json:"data"`
	}
	if err := c.Do("GET", "/api/v1/events?since=0&limit=5000", nil, &events); err != nil {
		t.Fatal(err)
	}
	var requests, timeouts []map[string]any
	for _, e := range events {
		switch {
		case e.ID == id && e.Type == "instance.shutdown_requested":
			requests = append(requests, e.Data)
		case e.ID == id && e.Type == "instance.shutdown_timeout":
			timeouts = append(timeouts, e.Data)
		}
	}
	if len(requests) != 1 || requests[0]["via"] != compute.ShutdownViaAgent || requests[0]["mode"] != "powerdown" {
		t.Errorf("%s: shutdown requests %v, want one powerdown via %s", name, requests, compute.ShutdownViaAgent)
	}
	if len(timeouts) != 0 {
		t.Errorf("%s: the guest did not power itself off within stop_timeout (%v); console:\n%s", name, timeouts, e2e.Tail(c.Console(id), 3000))
	}
	var d compute.InstanceDetail
	if err := c.Do("GET", "/api/v1/instances/"+name, nil, &d); err != nil || d.GuestAgent != nil {
		t.Errorf("%s: stopped, guest_agent %+v (%v), want none", name, d.GuestAgent, err)
	}
}
