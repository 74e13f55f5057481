package appliance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPackagedConfigLoads: the config file `make install` ships must load under the strict decoder.
func TestPackagedConfigLoads(t *testing.T) {
	cfg := DefaultConfig()
	if err := LoadConfigFile("../packaging/cloudlet.json", &cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	if err := want.Normalize(); err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != want.DataDir || cfg.Socket != want.Socket || cfg.Listen != want.Listen ||
		time.Duration(cfg.ShutdownTimeout) != 10*time.Second || cfg.DNSDomain != want.DNSDomain {
		t.Errorf("packaged config = %+v, want the defaults %+v", cfg, want)
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		mutate func(*Config)
		want   string
	}{
		{"unknown key", `{"colour":"blue"}`, nil, `unknown field "colour"`},
		{"wrong type", `{"listen":8080}`, nil, "cannot unmarshal number"},
		{"bad duration", `{"shutdown_timeout":"soon"}`, nil, "invalid duration"},
		{"bad listen", "", func(c *Config) { c.Listen = "8080" }, `listen "8080"`},
		{"bad accel", "", func(c *Config) { c.Accel = "xen" }, `invalid accel "xen"`},
		{"bad log level", "", func(c *Config) { c.LogLevel = "loud" }, `log_level "loud"`},
		{"empty data dir", "", func(c *Config) { c.DataDir = "" }, "data_dir and run_dir must be set"},
		{"run dir too long for sockets", "", func(c *Config) { c.RunDir = "/" + strings.Repeat("r", 60) }, "108-byte limit"},
		{"negative cpu ratio", `{"cpu_allocation_ratio":-1}`, nil, "cpu_allocation_ratio -1"},
		{"absurd ram ratio", `{"ram_allocation_ratio":1e9}`, nil, "ram_allocation_ratio"},
		{"negative reserved memory", `{"reserved_host_memory_mib":-5}`, nil, "reserved_host_memory_mib"},
		{"negative stop timeout", `{"stop_timeout":"-1s"}`, nil, "must not be negative"},
		{"negative guest agent interval", `{"guest_agent_interval":"-1s"}`, nil, "guest_agent_interval must not be negative"},
		{"bad dns domain", `{"dns_domain":"my_cloud..lan"}`, nil, `dns_domain "my_cloud..lan"`},
		{"upper-case dns domain", `{"dns_domain":"Cloud"}`, nil, `dns_domain "Cloud"`},
		{"max image size without unit", `{"max_image_size":"64G"}`, nil, `size "64G"`},
		{"max image size too small", `{"max_image_size":"4KiB"}`, nil, "max_image_size 4KiB is below 1MiB"},
		{"negative login failures", `{"login_free_failures":-1}`, nil, "login_free_failures -1"},
		{"day-long login backoff", `{"login_backoff_max":"48h"}`, nil, "login_backoff_max 48h"},
		{"negative login burst", `{"login_burst_per_address":-1}`, nil, "login_burst_per_address -1"},
		{"negative session idle", `{"session_idle":"-1m"}`, nil, "session_idle -1m0s"},
		{"session idle past the token lifetime", `{"session_idle":"13h"}`, nil, "session_idle 13h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			var err error
			if tt.file != "" {
				path := filepath.Join(t.TempDir(), "c.json")
				if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
				if err = LoadConfigFile(path, &cfg); err == nil {
					err = cfg.Normalize()
				}
			} else {
				tt.mutate(&cfg)
				err = cfg.Normalize()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestNormalizeDerivesSocketAndAbsolutePaths(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.RunDir = "rel/data", "/tmp/run"
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(cfg.DataDir) || cfg.Socket != "/tmp/run/cloudlet.sock" {
		t.Errorf("normalized = data %q socket %q", cfg.DataDir, cfg.Socket)
	}
}

func TestSessionIdleReachesIdentity(t *testing.T) {
	cfg := DefaultConfig()
	if got := cfg.identityOptions().SessionIdle; got != 30*time.Minute {
		t.Errorf("default session idle = %s, want 30m", got)
	}
	cfg.SessionIdle = Duration(5 * time.Minute)
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	if got := cfg.identityOptions().SessionIdle; got != 5*time.Minute {
		t.Errorf("session_idle 5m reaches identity as %s", got)
	}
}

func TestLoginBurstPerAddressReachesIdentity(t *testing.T) {
	cfg := DefaultConfig()
	if got := cfg.identityOptions().SourceLogins.Burst; got != 30 {
		t.Errorf("default login burst per address = %d, want 30", got)
	}
	cfg.LoginBurstPerAddress = 500
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	if got := cfg.identityOptions().SourceLogins.Burst; got != 500 {
		t.Errorf("login_burst_per_address 500 reaches identity as %d", got)
	}
}
