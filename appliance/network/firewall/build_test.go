package firewall

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestBuildGolden(t *testing.T) {
	for name, m := range goldenModels() {
		t.Run(name, func(t *testing.T) {
			rs, err := Build(m)
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			got := rs.Render()
			path := filepath.Join("testdata", name+".rules")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("Render() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildIgnoresInputOrder: the catalog may list things in any order.
func TestBuildIgnoresInputOrder(t *testing.T) {
	m := goldenModels()["port-forwards"]
	rs1, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(m.Ports)
	slices.Reverse(m.PortForwards)
	slices.Reverse(m.SecurityGroups[0].Rules)
	rs2, err := Build(m)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rs1.Render(), rs2.Render()); diff != "" {
		t.Errorf("order changed the rules (-first +reordered):\n%s", diff)
	}
}

func TestChainNames(t *testing.T) {
	for name, m := range goldenModels() {
		rs, err := Build(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range rs.Tables {
			for _, c := range tb.Chains {
				if len(c.Name) > 28 {
					t.Errorf("%s: chain %s is longer than 28 characters", name, c.Name)
				}
			}
		}
	}
}

func TestParseSaveRoundTrip(t *testing.T) {
	rs, err := Build(goldenModels()["floating-ip"])
	if err != nil {
		t.Fatal(err)
	}
	rs.Bridge = "" // iptables-save knows nothing of nftables' bridge table
	rs.Sets = nil  // nor of ipsets
	back, err := ParseSave("# Generated\n*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n" + rs.Render()[len("*filter\n"):])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rs.Render(), back.Render()); diff != "" {
		t.Errorf("(-built +parsed):\n%s", diff)
	}
}
