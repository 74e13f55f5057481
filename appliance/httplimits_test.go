package appliance

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/web"
)

// TestProbe04ConfigHTTPLimits: the HTTP limit keys load into the web server's limits, with the
// defaults when absent, and nonsense is refused.
func TestProbe04ConfigHTTPLimits(t *testing.T) {
	load := func(file string) (Config, error) {
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
	cfg, err := load(`{"http_header_timeout":"5s","http_idle_timeout":"30s","http_write_timeout":"2m",
		"http_min_body_rate":512,"http_body_rate_window":"10s","max_connections_per_source":8,"max_connections":100,
		"unauthenticated_audit_window":"5m"}`)
	if err != nil {
		t.Fatal(err)
	}
	a := &Appliance{cfg: cfg, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	want := web.Limits{HeaderTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second, WriteTimeout: 2 * time.Minute,
		MinBodyRate: 512, RateWindow: 10 * time.Second, MaxConnsPerSource: 8, MaxConns: 100, AuditWindow: 5 * time.Minute}
	if got := a.webLimits(); got != want {
		t.Errorf("limits = %+v, want %+v", got, want)
	}

	defaults, err := load(`{}`)
	if err != nil {
		t.Fatal(err)
	}
	a.cfg = defaults
	got := a.webLimits()
	if got.MaxConnsPerSource != web.DefaultMaxConnsPerSource || got.HeaderTimeout != web.DefaultHeaderTimeout ||
		got.AuditWindow != web.DefaultAuditWindow || got.MaxConns < 64 {
		t.Errorf("default limits = %+v, want web's defaults and a connection cap from the open-files limit", got)
	}

	for file, msg := range map[string]string{
		`{"http_idle_timeout":"-1s"}`:          "http_idle_timeout must not be negative",
		`{"http_body_rate_window":"100ms"}`:    "at least 1s",
		`{"max_connections_per_source":-1}`:    "must not be negative",
		`{"unauthenticated_audit_window":"x"}`: "invalid duration",
	} {
		if _, err := load(file); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: err = %v, want one containing %q", file, err, msg)
		}
	}
}
