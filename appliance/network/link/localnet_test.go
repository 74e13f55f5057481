package link_test

import (
	"os"
	"strings"
	"testing"

	"cloudlet/appliance/network/link"
)

// TestSetRouteLocalnetOnABridge turns route_localnet on and off on one bridge of the test's own
// namespace, leaves every other link alone, and refuses a name that is not a link's.
func TestSetRouteLocalnetOnABridge(t *testing.T) {
	skipShort(t)
	b := bridge(t, "net-localnet", "10.88.9.1/24")
	read := func(name string) string {
		t.Helper()
		v, err := os.ReadFile("/proc/sys/net/ipv4/conf/" + name + "/route_localnet")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(v))
	}
	for _, on := range []bool{true, true, false} {
		if err := link.SetRouteLocalnet(b.Name, on); err != nil {
			t.Fatal(err)
		}
		want := map[bool]string{true: "1", false: "0"}[on]
		if got := read(b.Name); got != want {
			t.Errorf("after SetRouteLocalnet(%s, %v) route_localnet = %s, want %s", b.Name, on, got, want)
		}
		if got := read("all"); got != "0" {
			t.Errorf("after SetRouteLocalnet(%s, %v) net.ipv4.conf.all.route_localnet = %s, want 0", b.Name, on, got)
		}
	}
	for _, bad := range []string{"", "..", "../all", "clbr-x/../../all"} {
		if err := link.SetRouteLocalnet(bad, true); err == nil {
			t.Errorf("SetRouteLocalnet(%q) succeeded, want an error", bad)
		}
	}
	if got := read("all"); got != "0" {
		t.Errorf("net.ipv4.conf.all.route_localnet = %s after the refusals, want 0", got)
	}
}
