package network

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

// forward is an admin's request (any host port); memberForward a member's.
func forward(port, proto string, hostPort, internal int) CreatePortForwardRequest {
	return CreatePortForwardRequest{Port: port, Protocol: proto, HostPort: hostPort, InternalPort: internal, AnyHostPort: true}
}

func memberForward(port, proto string, hostPort, internal int) CreatePortForwardRequest {
	r := forward(port, proto, hostPort, internal)
	r.AnyHostPort = false
	return r
}

// A port forward publishes host:8080/tcp on web:80 (DNAT from outside and from the host itself,
// passing web's security groups); deleting it, or web, takes the rules away.
func TestPortForwardsPublishAHostPort(t *testing.T) {
	s, fw := newPublishingService(t)
	pf := must1(s.CreatePortForward(ctx, proj, forward("web", "tcp", 8080, 80)))
	web := must1(s.Port(ctx, proj, "web"))
	if pf.PortID != web.ID || pf.FixedIP != web.FixedIPs[0] || pf.HostIP.IsValid() {
		t.Errorf("port forward %+v: want web's %s on every host address", pf, web.FixedIPs[0])
	}
	to := web.FixedIPs[0].String() + ":80"
	for _, want := range []string{
		"-A CLOUDLET-PREROUTING -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8080 -j DNAT --to-destination " + to,
		"-A CLOUDLET-OUTPUT -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 8080 -j DNAT --to-destination " + to,
	} {
		if got := fw.last(t); !strings.Contains(got, want) {
			t.Errorf("rules lack %q:\n%s", want, got)
		}
	}
	if got := must1(s.PortForward(ctx, proj, pf.ID)); got.HostPort != 8080 {
		t.Errorf("show: %+v", got)
	}
	must0(t, s.DeletePortForward(ctx, proj, pf.ID))
	if got := fw.last(t); strings.Contains(got, "--dport 8080") {
		t.Errorf("deleted port forward still in the rules:\n%s", got)
	}
	must1(s.CreatePortForward(ctx, proj, forward("web", "udp", 5353, 53)))
	must0(t, s.DeletePort(ctx, proj, "web"))
	if all := must1(s.PortForwards(ctx, proj)); len(all) != 0 {
		t.Errorf("port forwards after their port was deleted: %+v", all)
	}
	if got := fw.last(t); strings.Contains(got, "--dport 5353") {
		t.Errorf("the deleted port's forward is still in the rules:\n%s", got)
	}
}

// A host port is held once per protocol: a forward on every address overlaps one on any address;
// other protocols and other host addresses are free. Bad requests are refused naming the field.
func TestPortForwardConflictsAndBadInput(t *testing.T) {
	s, _ := newPublishingService(t)
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "lan2", Kind: KindBridged, Bridge: "br0", Subnet: subnet("10.1.9.0/24")}))
	must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "onlan2", Network: "lan2"}))
	first := forward("web", "tcp", 8080, 80)
	first.Name = "www"
	must1(s.CreatePortForward(ctx, proj, first))
	onIP := func(r CreatePortForwardRequest, ip string) CreatePortForwardRequest { r.HostIP = addr(ip); return r }
	must1(s.CreatePortForward(ctx, proj, forward("db", "udp", 8080, 80)))
	must1(s.CreatePortForward(ctx, proj, onIP(forward("db", "tcp", 9000, 5432), "203.0.113.1")))
	must1(s.CreatePortForward(ctx, proj, onIP(forward("web", "tcp", 9000, 5432), "192.0.2.1")))
	for _, c := range []struct {
		name  string
		r     CreatePortForwardRequest
		kind  fault.Kind
		words []string
	}{
		{"same host port", forward("db", "tcp", 8080, 81), fault.Conflict, []string{"8080/tcp", "web", "www"}},
		{"same port on one address", onIP(forward("db", "tcp", 8080, 81), "203.0.113.1"), fault.Conflict, []string{"8080/tcp", "web"}},
		{"every address over one", forward("web", "tcp", 9000, 81), fault.Conflict, []string{"9000/tcp", "already forwarded"}},
		{"port on a bridged network", forward("onlan2", "tcp", 7000, 80), fault.Conflict, []string{"onlan2", "bridged", "lan2"}},
		{"unknown port", forward("nope", "tcp", 7000, 80), fault.NotFound, []string{"nope"}},
		{"no port", forward("", "tcp", 7000, 80), fault.Invalid, []string{"port"}},
		{"bad protocol", forward("web", "icmp", 7000, 80), fault.Invalid, []string{"icmp"}},
		{"host port 0", forward("web", "tcp", 0, 80), fault.Invalid, []string{"host_port 0"}},
		{"host port too big", forward("web", "tcp", 70000, 80), fault.Invalid, []string{"host_port 70000"}},
		{"internal port too big", forward("web", "tcp", 7000, 65536), fault.Invalid, []string{"internal_port 65536"}},
		{"loopback host IP", onIP(forward("web", "tcp", 7000, 80), "127.0.0.1"), fault.Invalid, []string{"127.0.0.1"}},
		{"IPv6 host IP", onIP(forward("web", "tcp", 7000, 80), "2001:db8::1"), fault.Invalid, []string{"2001:db8::1"}},
	} {
		_, err := s.CreatePortForward(ctx, proj, c.r)
		wantFault(t, c.name, err, c.kind, c.words...)
	}
	if all := must1(s.PortForwards(ctx, proj)); len(all) != 4 {
		t.Errorf("%d port forwards after the refusals, want 4", len(all))
	}
}

// On a live host a port some socket holds is refused: the forward's DNAT would steal its traffic
// (the daemon's own API port among them). An address the host does not have is bad input.
func TestHostPortInUseIsRefused(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	wantFault(t, "a listening port", hostPortFree("tcp", netip.Addr{}, port), fault.Conflict, "in use on the host")
	wantFault(t, "a listening port on its own address", hostPortFree("tcp", addr("127.0.0.1"), port), fault.Conflict, "in use on the host")
	wantFault(t, "an address the host lacks", hostPortFree("tcp", addr("192.0.2.77"), port), fault.Invalid, "192.0.2.77")
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	wantFault(t, "a bound UDP port", hostPortFree("udp", netip.Addr{}, u.LocalAddr().(*net.UDPAddr).Port), fault.Conflict, "/udp is in use")
	if err := hostPortFree("udp", addr("127.0.0.1"), port); err != nil {
		t.Errorf("UDP on a port only TCP holds: %v, want free", err)
	}
}

// A forward whose rules cannot be applied is not left behind.
func TestPortForwardRulesThatCannotBeAppliedUndoIt(t *testing.T) {
	s, fw := newPublishingService(t)
	fw.fail = errors.New("iptables: resource busy")
	if _, err := s.CreatePortForward(ctx, proj, forward("web", "tcp", 8080, 80)); err == nil ||
		!strings.Contains(err.Error(), "apply firewall rules") {
		t.Errorf("create with a failing firewall: %v, want an error naming the firewall", err)
	}
	if all := must1(s.PortForwards(ctx, proj)); len(all) != 0 {
		t.Errorf("port forwards after a failed create: %+v", all)
	}
}
