package e2e

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"cloudlet/appliance/compute"
)

// Anti-spoofing with real guests: a guest that runs a DHCP server, takes another guest's address or
// changes its MAC gets nothing through, and poisons no one — the others keep their leases, their
// neighbour tables and their traffic.
func TestSpoofingGuestGetsNothingThrough(t *testing.T) {
	c := newCloud(t, "")
	if err := c.Do("POST", "/api/v1/networks", map[string]any{"name": "lan", "subnet": map[string]any{"cidr": "10.60.0.0/24", "dhcp": true}}, nil); err != nil {
		t.Fatal(err)
	}
	onLan := map[string]any{"networks": []string{"lan"}}
	insts := map[string]compute.Instance{}
	sh := map[string]*shell{}
	for _, name := range []string{"victim", "mallory", "observer"} {
		insts[name] = c.Create(name, kernelImage, onLan)
	}
	for name, inst := range insts {
		c.WaitConsole(inst.ID, ready, 1, bootWait)
		sh[name] = c.shell(inst.ID, name)
		insts[name] = c.Show(inst.ID)
	}
	ip := func(name string) string { return insts[name].Addresses[0].IP }
	mac := func(name string) string { return insts[name].Addresses[0].MAC }
	mustRun(t, sh["mallory"], "echo mallory-page > /www/index.html")
	if _, ok := sh["mallory"].fetch("http://" + ip("observer") + "/"); !ok {
		t.Fatalf("before spoofing, mallory (same default group) could not reach the observer")
	}

	// A rogue DHCP server: the observer renews from scratch and still gets cloudlet's answer. The group
	// lets DHCP requests in, so the rogue server does hear them: its answers are what must be dropped.
	if err := c.Do("POST", "/api/v1/security-groups/default/rules", map[string]any{"direction": "ingress", "protocol": "udp",
		"port_range_min": 67, "port_range_max": 67}, nil); err != nil {
		t.Fatal(err)
	}
	mustRun(t, sh["mallory"], "printf 'start 10.60.0.200\\nend 10.60.0.210\\ninterface eth0\\nopt router "+ip("mallory")+
		"\\nopt subnet 255.255.255.0\\nlease_file /tmp/leases\\n' > /tmp/udhcpd.conf && touch /tmp/leases && udhcpd /tmp/udhcpd.conf")
	out := mustRun(t, sh["observer"], "kill -USR2 $(pidof udhcpc); sleep 1; kill -USR1 $(pidof udhcpc); sleep 6; ip -4 -o addr show dev eth0; ip route")
	if !strings.Contains(out, " "+ip("observer")+"/24") || !strings.Contains(out, "default via 10.60.0.1 ") || strings.Contains(out, "10.60.0.20") {
		t.Errorf("after a renewal next to a rogue DHCP server the observer has:\n%s\nwant %s/24 via 10.60.0.1", out, ip("observer"))
	}
	if n := droppedDHCPServerReplies(t); n == 0 {
		t.Errorf("no DHCP server reply from a guest was dropped: the rogue server's offers went somewhere")
	}
	mustRun(t, sh["mallory"], "killall udhcpd")

	// Mallory takes the victim's address: the observer still reaches the victim, and learns its MAC only.
	mustRun(t, sh["mallory"], "ip addr flush dev eth0 && ip addr add "+ip("victim")+"/24 dev eth0")
	if body, ok := sh["mallory"].fetch("http://" + ip("observer") + "/"); ok {
		t.Errorf("mallory with the victim's address reached the observer: %q", body)
	}
	if body, ok := sh["observer"].fetch("http://" + ip("victim") + "/"); !ok || strings.Contains(body, "mallory") {
		t.Errorf("the observer asking the victim's address got %q (ok=%v), want the victim's page", body, ok)
	}
	if out := mustRun(t, sh["observer"], "ip neigh show "+ip("victim")); !strings.Contains(out, mac("victim")) {
		t.Errorf("the observer's neighbour entry for the victim is %q, want the victim's MAC %s", out, mac("victim"))
	}

	// Mallory back on its own address but with another MAC: nothing gets through either.
	mustRun(t, sh["mallory"], "ip addr flush dev eth0 && ip link set eth0 down && ip link set eth0 address 02:00:00:00:00:99 && ip link set eth0 up && ip addr add "+ip("mallory")+"/24 dev eth0")
	if body, ok := sh["mallory"].fetch("http://" + ip("observer") + "/"); ok {
		t.Errorf("mallory with a forged MAC reached the observer: %q", body)
	}
	mustRun(t, sh["mallory"], "ip link set eth0 down && ip link set eth0 address "+mac("mallory")+" && ip link set eth0 up")
	if _, ok := sh["mallory"].fetch("http://" + ip("observer") + "/"); !ok {
		t.Errorf("mallory back on its own MAC and address could not reach the observer")
	}
}

func mustRun(t *testing.T, s *shell, command string) string {
	t.Helper()
	out, rc := s.run(command)
	if rc != 0 {
		t.Fatalf("%s: %q: rc %d: %s", s.name, command, rc, out)
	}
	return out
}

// droppedDHCPServerReplies sums the packet counters of the rules dropping DHCP server replies from guests.
func droppedDHCPServerReplies(t *testing.T) int {
	t.Helper()
	out, err := exec.Command("iptables-save", "-c").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save -c: %v: %s", err, out)
	}
	total := 0
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, "--sport 67 -j DROP") || !strings.HasPrefix(line, "[") {
			continue
		}
		n, _ := strconv.Atoi(line[1:strings.Index(line, ":")])
		total += n
	}
	return total
}
