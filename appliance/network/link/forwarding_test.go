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

// TestSetBridgeNetfilter turns bridge-nf-call-iptables on in the test's own namespace.
func TestSetBridgeNetfilter(t *testing.T) {
	skipShort(t)
	const path = "/proc/sys/net/bridge/bridge-nf-call-iptables"
	if err := os.WriteFile(path, []byte("0\n"), 0o644); err != nil {
		t.Fatalf("br_netfilter must be loaded for the firewall to see bridged traffic: %v", err)
	}
	if err := link.SetBridgeNetfilter(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != "1" {
		t.Errorf("after SetBridgeNetfilter bridge-nf-call-iptables = %s, want 1", got)
	}
}
