package appliance

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// Webhooks default to a 10 s delivery timeout and no private range; webhook_allowed_cidrs lets its
// ranges through the delivery guard (loopback stays refused); bad values are refused at start.
func TestWebhookConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	if time.Duration(cfg.WebhookTimeout) != 10*time.Second || len(cfg.WebhookAllowedCIDRs) != 0 {
		t.Errorf("defaults: timeout %v, allowed %v; want 10s and none", time.Duration(cfg.WebhookTimeout), cfg.WebhookAllowedCIDRs)
	}
	lan := netip.MustParseAddrPort("192.168.7.9:8080")
	if err := cfg.webhookOptions(nil, nil).Guard.Check(lan); err == nil {
		t.Error("a private address is let through by default")
	}
	cfg.WebhookAllowedCIDRs = []string{"192.168.7.0/24"}
	o := cfg.webhookOptions(nil, nil)
	if err := o.Guard.Check(lan); err != nil || !slices.Contains(o.Guard.PrivateAllowed, netip.MustParsePrefix("192.168.7.0/24")) {
		t.Errorf("allowed range: %v", err)
	}
	if err := o.Guard.Check(netip.MustParseAddrPort("127.0.0.1:8080")); err == nil {
		t.Error("loopback is let through")
	}
	for key, bad := range map[string]func(*Config){
		"webhook_allowed_cidrs": func(c *Config) { c.WebhookAllowedCIDRs = []string{"10.0.0.0"} },
		"webhook_timeout":       func(c *Config) { c.WebhookTimeout = Duration(-time.Second) },
	} {
		cfg := DefaultConfig()
		cfg.DataDir = t.TempDir()
		bad(&cfg)
		if err := cfg.Normalize(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("bad %s: %v, want refused naming it", key, err)
		}
	}
}
