package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestConfigPrecedence: defaults, then the config file, then flags the user set.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "cloudlet.json")
	err := os.WriteFile(cfgFile, []byte(`{"data_dir":"/srv/from-file","listen":"127.0.0.1:9999","accel":"tcg"}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	g := &globals{output: "table", socket: "/run/cloudlet/cloudlet.sock"}
	var d daemonFlags
	cmd := &cobra.Command{Use: "serve"}
	d.register(cmd.Flags())
	cmd.Flags().StringVar(&g.socket, "socket", g.socket, "")
	// The run dir is only resolved, never made: a short literal, because t.TempDir() under make test's
	// own TMPDIR is longer than a run dir may be (its sockets must fit in 108 bytes).
	runDir := "/run/cloudlet-precedence"
	if err := cmd.ParseFlags([]string{"--config", cfgFile, "--listen", "127.0.0.1:7777", "--run-dir", runDir}); err != nil {
		t.Fatal(err)
	}
	cfg, err := d.resolve(cmd, g)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/srv/from-file" || cfg.Listen != "127.0.0.1:7777" || cfg.Accel != "tcg" || cfg.RunDir != runDir {
		t.Errorf("resolved config = %+v", cfg)
	}
	if want := filepath.Join(runDir, "cloudlet.sock"); cfg.Socket != want {
		t.Errorf("socket = %q, want it to follow --run-dir: %q", cfg.Socket, want)
	}
}

func TestVersionAndOutputFlag(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"version", "-o", "json"}, &out, &out); err != nil || !strings.Contains(out.String(), `"version"`) {
		t.Errorf("version -o json = %v %q", err, out.String())
	}
	if err := run([]string{"version", "-o", "yaml"}, &out, &out); err == nil || !strings.Contains(err.Error(), "invalid --output") {
		t.Errorf("version -o yaml err = %v", err)
	}
}
