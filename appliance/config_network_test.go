package appliance

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloudlet/appliance/network"
)

func loadConfig(t *testing.T, file string) (Config, error) {
	t.Helper()
	cfg := DefaultConfig()
	path := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := LoadConfigFile(path, &cfg); err != nil {
		return cfg, err
	}
	return cfg, cfg.Normalize()
}

// Findings 2 and 9: members' networks stay on private ranges and their forwards on 20000-29999
// unless the admin widens them in the config; the config can never hand members a reserved range
// or a port below 1024.
func TestProbe09NetworkPolicyConfig(t *testing.T) {
	cfg, err := loadConfig(t, `{}`)
	if err != nil || cfg.forwardRange() != network.DefaultForwardRange || len(cfg.NetworkCIDRsAllowed) != 0 {
		t.Errorf("defaults: range %v, allowed %v (%v); want 20000-29999 and none", cfg.forwardRange(), cfg.NetworkCIDRsAllowed, err)
	}
	cfg, err = loadConfig(t, `{"network_cidrs_allowed":["203.0.113.0/24"],"port_forward_range":"30000-30999"}`)
	if err != nil || cfg.forwardRange() != (network.PortRange{Min: 30000, Max: 30999}) ||
		len(cfg.NetworkCIDRsAllowed) != 1 || cfg.NetworkCIDRsAllowed[0] != netip.MustParsePrefix("203.0.113.0/24") {
		t.Errorf("widened: range %v, allowed %v (%v)", cfg.forwardRange(), cfg.NetworkCIDRsAllowed, err)
	}
	for file, want := range map[string]string{
		`{"network_cidrs_allowed":["127.0.0.0/8"]}`:    "loopback",
		`{"network_cidrs_allowed":["224.0.0.0/4"]}`:    "multicast",
		`{"network_cidrs_allowed":["203.0.113.1/24"]}`: "203.0.113.1/24",
		`{"network_cidrs_allowed":["nonsense"]}`:       "nonsense",
		`{"port_forward_range":"22-2000"}`:             "below 1024",
		`{"port_forward_range":"30000-20000"}`:         "30000-20000",
	} {
		if _, err := loadConfig(t, file); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %s: %v, want an error naming %q", file, err, want)
		}
	}
}
