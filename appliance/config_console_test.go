package appliance

import (
	"strings"
	"testing"
	"time"
)

func TestConsoleConfigDefaultsAndRefusals(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	if o := cfg.consoleOptions(); o.TicketTTL != 30*time.Second || o.MaxVNCPerInstance != 4 || len(o.AllowedOrigins) != 0 {
		t.Errorf("default console options = %+v", o)
	}
	for name, tt := range map[string]struct {
		mutate func(*Config)
		want   string
	}{
		"a ticket valid for an hour": {func(c *Config) { c.ConsoleTicketTTL = Duration(time.Hour) }, "console_ticket_ttl"},
		"a negative ticket ttl":      {func(c *Config) { c.ConsoleTicketTTL = -1 }, "console_ticket_ttl"},
		"any origin":                 {func(c *Config) { c.ConsoleAllowedOrigins = []string{"*"} }, "console_allowed_origins"},
		"a broken pattern":           {func(c *Config) { c.ConsoleAllowedOrigins = []string{"[a"} }, "console_allowed_origins"},
		"a thousand vnc sessions":    {func(c *Config) { c.MaxVNCSessionsPerInstance = 1000 }, "max_vnc_sessions_per_instance"},
	} {
		cfg := DefaultConfig()
		tt.mutate(&cfg)
		if err := cfg.Normalize(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming %s", name, err, tt.want)
		}
	}
	cfg = DefaultConfig()
	cfg.ConsoleTicketTTL = Duration(time.Millisecond) // tests expire tickets so
	cfg.ConsoleAllowedOrigins = []string{"*.example.com"}
	if err := cfg.Normalize(); err != nil {
		t.Errorf("a 1 ms ticket and a wildcard subdomain: %v", err)
	}
}
