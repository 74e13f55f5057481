package firewall

import (
	"bufio"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestLoopbackBridgesAreThoseOfForwardsOnEveryAddress: only a forward on every host address answers
// on the loopback, so only its guest's bridge needs route_localnet; a forward on one address, a
// model without forwards needs none.
func TestLoopbackBridgesAreThoseOfForwardsOnEveryAddress(t *testing.T) {
	everyAddr := PortForward{Protocol: TCP, HostPort: 8080, FixedIP: netip.MustParseAddr("10.88.0.10"), Port: 80}
	oneAddr := PortForward{Protocol: UDP, HostPort: 5353, HostIP: netip.MustParseAddr("203.0.113.1"),
		FixedIP: netip.MustParseAddr("10.88.0.11"), Port: 53}
	for _, tc := range []struct {
		name     string
		forwards []PortForward
		want     []string
	}{
		{"no forwards", nil, nil},
		{"a forward on one address", []PortForward{oneAddr}, nil},
		{"a forward on every address", []PortForward{oneAddr, everyAddr}, []string{"clbr-1"}},
		{"two forwards to one bridge", []PortForward{everyAddr, {Protocol: UDP, HostPort: 8080, FixedIP: everyAddr.FixedIP, Port: 80}}, []string{"clbr-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := natDefault()
			m.PortForwards = tc.forwards
			got := LoopbackBridges(m)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("LoopbackBridges (-want +got):\n%s", diff)
			}
			rs, err := Build(m)
			if err != nil {
				t.Fatal(err)
			}
			guarded := strings.Contains(rs.Render(), "*raw\n")
			if guarded != (len(tc.want) > 0) {
				t.Errorf("raw guard built = %v with loopback bridges %v:\n%s", guarded, got, rs.Render())
			}
		})
	}
}

// TestForwardAnswersOnLoopbackAndNoGuestReachesTheHostsLoopback: with route_localnet on the guest's
// bridge (as LoopbackBridges asks), a forward on every address answers on 127.0.0.1 and still on
// the bridge's address. The same sysctl without the rules lets a guest that routes 127.0.0.0/8 to
// its gateway reach a service bound to the host's 127.0.0.1 (CVE-2020-8558, checked first so the
// test cannot pass by accident); with the rules applied, its packets are dropped.
func TestForwardAnswersOnLoopbackAndNoGuestReachesTheHostsLoopback(t *testing.T) {
	loopbackGuestAndBridge(t)
	g := newGuest(t, "clt-a", "52:54:00:00:00:0a", "10.77.0.10/24")
	g.exec(t, "ip", "route", "add", "default", "via", "10.77.0.1")
	serveGuestPage(t, g, "10.77.0.10:80")

	secret, err := net.ListenPacket("udp4", "127.0.0.1:9999") // a host service on loopback only
	if err != nil {
		t.Fatal(err)
	}
	defer secret.Close()
	attack := routeLoopbackToGateway(t, g)
	setRouteLocalnet(t, "clbr-t", true)
	if got := received(secret, attack); got == 0 {
		t.Fatal("control: with route_localnet and no rules, the guest's datagrams to 127.0.0.1 did not arrive; the check below would prove nothing")
	}

	m := Model{
		Networks: []Network{{ID: "n", Bridge: "clbr-t", Subnet: netip.MustParsePrefix("10.77.0.0/24"),
			Gateway: netip.MustParseAddr("10.77.0.1"), NAT: true}},
		Ports: []Port{{ID: "a", Network: "n", Tap: "clt-a", MAC: g.mac, IPs: addrs("10.77.0.10"),
			PortSecurity: true, SecurityGroups: []string{"default"}}},
		SecurityGroups: []SecurityGroup{defaultGroup},
		PortForwards:   []PortForward{{Protocol: TCP, HostPort: 8080, FixedIP: netip.MustParseAddr("10.77.0.10"), Port: 80}},
	}
	if got := LoopbackBridges(m); !slices.Equal(got, []string{"clbr-t"}) {
		t.Fatalf("LoopbackBridges = %v, want [clbr-t]", got)
	}
	apply(t, newApplier(t), m)
	for _, addr := range []string{"127.0.0.1:8080", "10.77.0.1:8080"} {
		if got, err := getLine(addr); err != nil || got != "guest page" {
			t.Errorf("the host connecting to %s: %q %v, want the guest's page", addr, got, err)
		}
	}
	if got := received(secret, attack); got != 0 {
		t.Errorf("%d datagrams from the guest reached the host's 127.0.0.1:9999 through the bridge", got)
	}
}

// loopbackGuestAndBridge makes bridge clbr-t with the gateway 10.77.0.1/24, filtered by br_netfilter.
func loopbackGuestAndBridge(t *testing.T) {
	t.Helper()
	if err := os.WriteFile("/proc/sys/net/bridge/bridge-nf-call-iptables", []byte("1\n"), 0o644); err != nil {
		t.Fatalf("br_netfilter is not available (%v)", err)
	}
	run(t, "ip", "link", "set", "lo", "up")
	run(t, "ip", "link", "add", "clbr-t", "type", "bridge")
	t.Cleanup(func() { run(t, "ip", "link", "del", "clbr-t") })
	run(t, "ip", "addr", "add", "10.77.0.1/24", "dev", "clbr-t")
	run(t, "ip", "link", "set", "clbr-t", "up")
}

// serveGuestPage answers every TCP connection to addr, inside the guest, with one line.
func serveGuestPage(t *testing.T, g guest, addr string) {
	t.Helper()
	var l net.Listener
	g.do(t, func() (err error) { l, err = net.Listen("tcp4", addr); return err })
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("guest page\n"))
			c.Close()
		}
	}()
}

// routeLoopbackToGateway turns the guest into an attacker that sends 127.0.0.0/8 to the host: its
// loopback is down (so no local route holds the range), route_localnet lets it route the range out
// of eth0, via the gateway. It
// returns a function that sends three datagrams from the guest to 127.0.0.1:9999.
func routeLoopbackToGateway(t *testing.T, g guest) func() {
	t.Helper()
	g.exec(t, "sysctl", "-q", "-w", "net.ipv4.conf.all.route_localnet=1", "net.ipv4.conf.eth0.route_localnet=1")
	g.exec(t, "ip", "route", "add", "127.0.0.0/8", "via", "10.77.0.1", "dev", "eth0")
	if out := g.output(t, "ip", "route", "get", "127.0.0.1"); !strings.Contains(out, "via 10.77.0.1 dev eth0") {
		t.Fatalf("the guest does not route 127.0.0.1 to its gateway: %s", out)
	}
	return func() {
		g.do(t, func() error {
			c, err := net.Dial("udp4", "127.0.0.1:9999")
			if err != nil {
				return err
			}
			defer c.Close()
			for range 3 {
				c.Write([]byte("probe"))
			}
			return nil
		})
	}
}

// received runs send and counts the datagrams that reach conn within two seconds.
func received(conn net.PacketConn, send func()) int {
	send()
	n := 0
	buf := make([]byte, 64)
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, _, err := conn.ReadFrom(buf); err != nil {
			return n
		}
		n++
	}
}

func setRouteLocalnet(t *testing.T, dev string, on bool) {
	t.Helper()
	v := map[bool]string{true: "1\n", false: "0\n"}[on]
	if err := os.WriteFile("/proc/sys/net/ipv4/conf/"+dev+"/route_localnet", []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
}

// getLine connects to addr from the host and reads one line.
func getLine(addr string) (string, error) {
	c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}
