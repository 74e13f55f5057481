package appliance

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Finding 3: the import directory defaults to DataDir/import and can never be a directory that
// holds cloudlet's own files (catalog.db, admin-password, sockets) or the whole host.
func TestProbe03ImportDirCannotExposeTheDaemonsFiles(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = "/srv/cl"
	if err := cfg.Normalize(); err != nil || cfg.ImportDir != "/srv/cl/import" {
		t.Fatalf("default import_dir = %q (%v), want /srv/cl/import", cfg.ImportDir, err)
	}
	for _, dir := range []string{"/", "/srv", "/srv/cl", "/srv/cl/", "/run", DefaultRunDir} {
		cfg := DefaultConfig()
		cfg.DataDir, cfg.ImportDir = "/srv/cl", dir
		if err := cfg.Normalize(); err == nil || !strings.Contains(err.Error(), "import_dir") {
			t.Errorf("import_dir %q: %v, want refused", dir, err)
		}
	}
	cfg = DefaultConfig()
	cfg.DataDir, cfg.ImportDir = "/srv/cl", "/srv/import"
	if err := cfg.Normalize(); err != nil {
		t.Errorf("import_dir beside the data dir: %v", err)
	}
}

// Findings 7 and 17: URL imports default to ports 80 and 443 and a minimum rate of 1 KiB/s over
// 30 s; bad values are refused at start.
func TestImageImportConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.ImageImportAllowedCIDRs = []string{"192.168.1.7/24"}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	o := cfg.imageImportOptions()
	if len(o.AllowedPorts) != 2 || o.AllowedPorts[0] != 80 || o.AllowedPorts[1] != 443 || o.MinRate != 1024 ||
		o.RateWindow != 30*time.Second || o.AllowedCIDRs[0].String() != "192.168.1.0/24" || o.Dir != filepath.Join(cfg.DataDir, "import") {
		t.Errorf("image import options %+v", o)
	}
	for _, tt := range []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.ImageImportAllowedPorts = []int{0} }, "image_import_allowed_ports"},
		{func(c *Config) { c.ImageImportAllowedPorts = []int{65536} }, "image_import_allowed_ports"},
		{func(c *Config) { c.ImageImportAllowedCIDRs = []string{"lan"} }, "image_import_allowed_cidrs"},
		{func(c *Config) { c.ImageImportDeniedCIDRs = []string{"10.0.0.1"} }, "image_import_denied_cidrs"},
		{func(c *Config) { c.ImageImportMinRate = -1 }, "image_import_min_rate"},
	} {
		cfg := DefaultConfig()
		tt.mutate(&cfg)
		if err := cfg.Normalize(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want one naming %s", err, tt.want)
		}
	}
}
