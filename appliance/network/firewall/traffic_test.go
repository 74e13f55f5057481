package firewall

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// guest is a small network namespace with one veth "NIC" whose other end sits on the test's bridge.
type guest struct {
	pid int
	mac net.HardwareAddr
}

// TestSpoofedSourceIsDropped: on a bridge with br_netfilter, a guest's packets with its own
// address reach the other guest; the same packets with a forged source address do not.
func TestSpoofedSourceIsDropped(t *testing.T) {
	const sysctl = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if err := os.WriteFile(sysctl, []byte("1\n"), 0o644); err != nil {
		t.Fatalf("br_netfilter is not available (%v): bridged traffic cannot be filtered; load the br_netfilter module", err)
	}
	run(t, "ip", "link", "add", "clbr-t", "type", "bridge")
	run(t, "ip", "link", "set", "clbr-t", "up")
	t.Cleanup(func() { exec.Command("ip", "link", "del", "clbr-t").Run() })
	a := newGuest(t, "clt-a", "52:54:00:00:00:0a", "10.77.0.10/24")
	b := newGuest(t, "clt-b", "52:54:00:00:00:0b", "10.77.0.11/24")

	m := Model{
		Networks: []Network{{ID: "n", Bridge: "clbr-t", Subnet: netip.MustParsePrefix("10.77.0.0/24")}},
		Ports: []Port{
			{ID: "a", Network: "n", Tap: "clt-a", MAC: a.mac, IPs: addrs("10.77.0.10"), PortSecurity: true, SecurityGroups: []string{"default"}},
			{ID: "b", Network: "n", Tap: "clt-b", MAC: b.mac, IPs: addrs("10.77.0.11"), PortSecurity: true, SecurityGroups: []string{"default"}},
		},
		SecurityGroups: []SecurityGroup{defaultGroup},
	}
	apply(t, newApplier(t), m)

	var conn net.PacketConn
	b.do(t, func() (err error) {
		conn, err = net.ListenPacket("udp4", "10.77.0.11:9999")
		return err
	})
	defer conn.Close()
	a.exec(t, "ip", "addr", "add", "10.77.0.99/32", "dev", "eth0")

	send := func(from string) {
		a.do(t, func() error {
			c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(from+":0")),
				net.UDPAddrFromAddrPort(netip.MustParseAddrPort("10.77.0.11:9999")))
			if err != nil {
				return err
			}
			defer c.Close()
			for range 3 {
				if _, err := c.Write([]byte(from)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	send("10.77.0.99")
	send("10.77.0.10")
	got := map[string]int{}
	buf := make([]byte, 64)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			break
		}
		got[string(buf[:n])]++
	}
	if got["10.77.0.10"] == 0 {
		t.Errorf("packets from the real address did not arrive (got %v)", got)
	}
	if got["10.77.0.99"] != 0 {
		t.Errorf("%d spoofed packets arrived", got["10.77.0.99"])
	}
}

// newGuest starts a namespace holding eth0 (MAC mac, address cidr), peered with tap on clbr-t.
func newGuest(t *testing.T, tap, mac, cidr string) guest {
	t.Helper()
	// The shell says it runs (one line) only once unshare has switched to the new namespace: a link
	// moved into the namespace of g.pid before that would land in this test's own. (Comparing the
	// namespace links in /proc instead was wrong: /proc/self names the main thread, which a do() that
	// locked it leaves wedged in an earlier guest's namespace.)
	cmd := exec.Command("unshare", "--net", "sh", "-c", "echo up; exec sleep 600")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); exec.Command("ip", "link", "del", tap).Run() })
	if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
		t.Fatalf("unshare did not start its shell in a new namespace: %v", err)
	}
	g := guest{pid: cmd.Process.Pid}
	g.mac, _ = net.ParseMAC(mac)
	// The peer is made here under a name of its own, then moved and renamed (the same race made a peer
	// created straight into the namespace as eth0 go missing now and then).
	peer := "p" + tap
	run(t, "ip", "link", "add", tap, "type", "veth", "peer", "name", peer)
	run(t, "ip", "link", "set", peer, "netns", strconv.Itoa(g.pid))
	run(t, "ip", "link", "set", tap, "master", "clbr-t", "up")
	g.exec(t, "ip", "link", "set", peer, "name", "eth0")
	g.exec(t, "ip", "link", "set", "eth0", "address", mac, "up")
	g.exec(t, "ip", "addr", "add", cidr, "dev", "eth0")
	return g
}

func (g guest) exec(t *testing.T, args ...string) {
	t.Helper()
	run(t, "nsenter", append([]string{"-t", strconv.Itoa(g.pid), "-n"}, args...)...)
}

// do runs f on a thread inside the guest's namespace; sockets f opens stay in that namespace.
func (g guest) do(t *testing.T, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine, namespace and all
		ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", g.pid))
		if err != nil {
			errc <- err
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns(%d): %w", g.pid, err)
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestSpoofedARPIsDropped: a guest answering ARP for an address that is not its own poisons no one's
// neighbour table; its ARP for its own address still works.
func TestSpoofedARPIsDropped(t *testing.T) {
	const sysctl = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if err := os.WriteFile(sysctl, []byte("1\n"), 0o644); err != nil {
		t.Fatalf("br_netfilter is not available (%v)", err)
	}
	run(t, "ip", "link", "add", "clbr-t", "type", "bridge")
	run(t, "ip", "link", "set", "clbr-t", "up")
	t.Cleanup(func() { exec.Command("ip", "link", "del", "clbr-t").Run() })
	a := newGuest(t, "clt-a", "52:54:00:00:00:0a", "10.77.0.10/24")
	b := newGuest(t, "clt-b", "52:54:00:00:00:0b", "10.77.0.11/24")
	m := Model{
		Networks: []Network{{ID: "n", Bridge: "clbr-t", Subnet: netip.MustParsePrefix("10.77.0.0/24")}},
		Ports: []Port{
			{ID: "a", Network: "n", Tap: "clt-a", MAC: a.mac, IPs: addrs("10.77.0.10"), PortSecurity: true, SecurityGroups: []string{"default"}},
			{ID: "b", Network: "n", Tap: "clt-b", MAC: b.mac, IPs: addrs("10.77.0.11"), PortSecurity: true, SecurityGroups: []string{"default"}},
		},
		SecurityGroups: []SecurityGroup{defaultGroup},
	}
	apply(t, newApplier(t), m)
	a.exec(t, "ip", "addr", "add", "10.77.0.12/32", "dev", "eth0") // a claims an address that is not its own

	for _, to := range []string{"10.77.0.10:9", "10.77.0.12:9"} { // a datagram makes b's kernel ask by ARP
		b.do(t, func() error {
			c, err := net.Dial("udp4", to)
			if err != nil {
				return err
			}
			defer c.Close()
			c.Write([]byte("who"))
			return nil
		})
	}
	time.Sleep(1500 * time.Millisecond) // ARP answers (or the lack of them) settle
	if out := b.output(t, "ip", "neigh", "show", "10.77.0.10"); !strings.Contains(out, a.mac.String()) {
		t.Errorf("b did not learn a's own address by ARP: %q", out)
	}
	if out := b.output(t, "ip", "neigh", "show", "10.77.0.12"); strings.Contains(out, a.mac.String()) {
		t.Errorf("a's ARP for an address not its own reached b: %q", out)
	}
}

func (g guest) output(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(g.pid), "-n"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v: %s", args, err, out)
	}
	return string(out)
}
