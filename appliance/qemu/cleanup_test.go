package qemu_test

import (
	"os"
	"path/filepath"
	"testing"

	"cloudlet/appliance/qemu"
)

// A daemon killed between creating the pidfile's temporary file and renaming it leaves that file in
// the run dir; neither the next start nor the cleanup after QEMU exits may keep it.
func TestCleanupRemovesThePidfileTempOfAKilledDaemon(t *testing.T) {
	dir := t.TempDir()
	paths := qemu.PathsFor(filepath.Join(dir, "run"), filepath.Join(dir, "state"))
	if err := os.MkdirAll(paths.RunDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".qemu.pid-123456", ".qemu.pid-7", "qemu.pid", "qmp.sock", "qemu.log"} {
		if err := os.WriteFile(filepath.Join(paths.RunDir, name), []byte("4242\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := qemu.Cleanup(paths); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}
	if entries, err := os.ReadDir(paths.RunDir); !os.IsNotExist(err) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("run dir still there (%v), holding %v", err, names)
	}
}
