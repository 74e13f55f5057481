package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestBadInputGivesOneClearErrorLine: each bad start exits non-zero with exactly one `cloudlet:` error
// line saying what is wrong; an existing catalog is left byte for byte as it was, and a failed first
// start leaves no admin password behind (it is printed only by a start that succeeds).
func TestBadInputGivesOneClearErrorLine(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, d *Daemon) []string // returns extra args
		want  string
	}{
		{"unknown flag", func(*testing.T, *Daemon) []string { return []string{"--bogus"} }, "unknown flag: --bogus"},
		{"invalid accel", func(*testing.T, *Daemon) []string { return []string{"--accel", "xen"} }, `invalid accel "xen"`},
		{"unknown config key", func(t *testing.T, d *Daemon) []string {
			return []string{"--config", writeFile(t, "cfg.json", `{"listen":"127.0.0.1:1","colour":"blue"}`)}
		}, `unknown field "colour"`},
		{"malformed config", func(t *testing.T, d *Daemon) []string {
			return []string{"--config", writeFile(t, "cfg.json", `{"listen":`)}
		}, "parse config"},
		{"missing config file", func(t *testing.T, d *Daemon) []string {
			return []string{"--config", filepath.Join(t.TempDir(), "absent.json")}
		}, "no such file"},
		{"unwritable data dir", func(t *testing.T, d *Daemon) []string {
			d.DataDir = filepath.Join(writeFile(t, "plainfile", "x"), "data")
			return nil
		}, "not a directory"},
		{"port in use", func(t *testing.T, d *Daemon) []string {
			d.Listen = occupy(t)
			return nil
		}, "address already in use"},
		{"catalog from a newer schema", func(t *testing.T, d *Daemon) []string {
			makeCatalog(t, d)
			setSchemaVersion(t, filepath.Join(d.DataDir, "catalog.db"), 999)
			return nil
		}, "newer"},
		{"corrupt catalog", func(t *testing.T, d *Daemon) []string {
			if err := os.MkdirAll(d.DataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d.DataDir, "catalog.db"), randomBytes(t, 64<<10), 0o600); err != nil {
				t.Fatal(err)
			}
			return nil
		}, "catalog"},
		{"truncated catalog", func(t *testing.T, d *Daemon) []string {
			path := makeCatalog(t, d)
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(path, b[:len(b)/3], 0o600); err != nil {
				t.Fatal(err)
			}
			return nil
		}, "catalog"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDaemon(t, cloudletBin)
			extra := tt.setup(t, d)
			catalog := filepath.Join(d.DataDir, "catalog.db")
			before, _ := os.ReadFile(catalog)
			_, errOut, code := cli(t, d.Args(extra...)...)
			if code == 0 {
				t.Fatalf("exit code 0, want failure; stderr:\n%s", errOut)
			}
			lines := errorLines(errOut)
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("error lines = %q, want one containing %q; stderr:\n%s", lines, tt.want, errOut)
			}
			after, _ := os.ReadFile(catalog)
			if before != nil && !bytes.Equal(before, after) {
				t.Errorf("catalog changed by a failed start (%d → %d bytes)", len(before), len(after))
			}
			if _, err := os.Stat(filepath.Join(d.DataDir, "admin-password")); before == nil && err == nil {
				t.Errorf("a failed first start left an admin-password file")
			}
		})
	}
}

func errorLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "cloudlet: ") {
			out = append(out, l)
		}
	}
	return out
}

// makeCatalog starts the daemon once so a real catalog exists, then stops it.
func makeCatalog(t *testing.T, d *Daemon) string {
	t.Helper()
	d.Start(t)
	d.WaitReady(t)
	d.Kill()
	return filepath.Join(d.DataDir, "catalog.db")
}

// setSchemaVersion plays a newer cloudlet that migrated the catalog further than this one knows.
func setSchemaVersion(t *testing.T, path string, v int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte(strconv.Itoa(v)))
	})
	if err != nil {
		t.Fatal(err)
	}
}
