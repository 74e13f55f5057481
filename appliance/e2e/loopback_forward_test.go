package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/network"
	"cloudlet/appliance/network/link"
)

// The host's loopback and port forwards (issue 11, point 3): a forward on every host address
// answers on 127.0.0.1 too. That needs route_localnet on the guest's bridge, which alone would let
// the guest reach services bound to the host's 127.0.0.1 (CVE-2020-8558); cloudlet's raw-table
// guard must drop such packets.

// checkLoopbackForward: with the forward of host port 8080 live, the host reaches the guest on
// 127.0.0.1:8080, the bridge routes the loopback range, and the guest, routing 127.0.0.0/8 to its
// gateway, does not reach a UDP service bound to the host's 127.0.0.1.
func checkLoopbackForward(t *testing.T, c *Cloud, port network.Port) {
	t.Helper()
	wantPage(t, "host's loopback", "http://127.0.0.1:8080/", func(_ *testing.T, u string) (string, error) { return hostGet(u) })
	if got := routeLocalnet(t, port.NetworkID); got != "1" {
		t.Errorf("route_localnet on the forward's bridge = %s, want 1", got)
	}
	secret, err := net.ListenPacket("udp4", "127.0.0.1:0") // a host service on loopback only
	if err != nil {
		t.Fatal(err)
	}
	defer secret.Close()
	gw := gatewayOf(t, c, port)
	sh := c.shell(port.DeviceID, "web")
	out, rc := sh.run("echo 1 >/proc/sys/net/ipv4/conf/all/route_localnet; echo 1 >/proc/sys/net/ipv4/conf/eth0/route_localnet; " +
		"ip addr flush dev lo; ip route add 127.0.0.0/8 via " + gw + " dev eth0; ip route get 127.0.0.1")
	if rc != 0 || !strings.Contains(out, "via "+gw+" dev eth0") {
		t.Fatalf("the guest does not route 127.0.0.1 to its gateway %s: rc %d, %q", gw, rc, out)
	}
	// tftp sends a UDP read request to 127.0.0.1:<port> and waits for an answer that never comes.
	udpPort := secret.LocalAddr().(*net.UDPAddr).Port
	sh.run(fmt.Sprintf("timeout 3 tftp -g -r probe -l /tmp/probe 127.0.0.1 %d", udpPort))
	secret.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, from, err := secret.ReadFrom(make([]byte, 512)); err == nil {
		t.Errorf("the guest reached the host's 127.0.0.1:%d through the bridge: %d bytes from %s", udpPort, n, from)
	}
}

// checkLoopbackForwardGone: the deleted forward no longer answers on 127.0.0.1, and no bridge of
// cloudlet's routes the loopback range any more.
func checkLoopbackForwardGone(t *testing.T, port network.Port) {
	t.Helper()
	if body, err := hostGet("http://127.0.0.1:8080/"); err == nil {
		t.Errorf("the host's loopback still reaches deleted forward 127.0.0.1:8080: %q", body)
	}
	if got := routeLocalnet(t, port.NetworkID); got != "0" {
		t.Errorf("route_localnet on the bridge after its last forward went = %s, want 0", got)
	}
}

// routeLocalnet reads net.ipv4.conf.<bridge>.route_localnet of the network's bridge.
func routeLocalnet(t *testing.T, networkID string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc/sys/net/ipv4/conf", link.BridgeName(networkID), "route_localnet"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func gatewayOf(t *testing.T, c *Cloud, port network.Port) string {
	t.Helper()
	var n network.Network
	if err := c.Do("GET", "/api/v1/networks/"+port.NetworkID, nil, &n); err != nil {
		t.Fatal(err)
	}
	return n.Subnet.Gateway.String()
}
