package link_test

import (
	"os"
	"strings"
	"testing"

	"cloudlet/appliance/network/link"
)

// TestSetForwarding sets ip_forward in the test's own namespace (it is per namespace).
func TestSetForwarding(t *testing.T) {
	skipShort(t)
	for _, on := range []bool{true, true, false} {
		if err := link.SetForwarding(on); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]string{true: "1", false: "0"}[on]
		if got := strings.TrimSpace(string(b)); got != want {
			t.Errorf("after SetForwarding(%v) ip_forward = %s, want %s", on, got, want)
		}
	}
}
