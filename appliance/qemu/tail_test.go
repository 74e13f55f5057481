package qemu_test

import (
	"os"
	"path/filepath"
	"testing"

	"cloudlet/appliance/qemu"
)

func TestConsoleLogTail(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "console.log")
	if err := os.WriteFile(log, []byte("first line\nsecond line\nthird\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path     string
		maxBytes int64
		want     string
	}{
		{log, 1 << 20, "first line\nsecond line\nthird\n"},
		{log, 18, "second line\nthird\n"}, // exactly the last two lines
		{log, 17, "third\n"},              // cut inside "second line": starts at the next line
		{log, 6, "third\n"},
		{log, 3, "rd\n"}, // the last line alone is too long
		{log, 0, ""},
		{log, -1, ""},
		{filepath.Join(dir, "absent.log"), 100, ""},
	}
	for _, tt := range tests {
		got, err := qemu.ConsoleLogTail(tt.path, tt.maxBytes)
		if err != nil || string(got) != tt.want {
			t.Errorf("ConsoleLogTail(%s, %d) = %q, %v; want %q", filepath.Base(tt.path), tt.maxBytes, got, err, tt.want)
		}
	}
}

// TestCleanup removes the run directory and what QEMU left in it, keeps the state directory, and
// leaves a run directory alone that holds files it does not know.
func TestCleanup(t *testing.T) {
	root := t.TempDir()
	paths := qemu.PathsFor(filepath.Join(root, "run"), filepath.Join(root, "state"))
	for _, dir := range []string{paths.RunDir, paths.StateDir} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{paths.QMP, paths.VNC, paths.PIDFile, paths.StderrLog, paths.ConsoleLog} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := qemu.Cleanup(paths); err != nil {
		t.Fatal(err)
	}
	if exists(paths.RunDir) || !exists(paths.ConsoleLog) {
		t.Errorf("after Cleanup: run dir exists %v (want false), console log exists %v (want true)",
			exists(paths.RunDir), exists(paths.ConsoleLog))
	}
	if err := qemu.Cleanup(paths); err != nil {
		t.Errorf("second Cleanup = %v, want nil", err)
	}

	foreign := filepath.Join(paths.RunDir, "seed.iso")
	if err := os.Mkdir(paths.RunDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(foreign, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := qemu.Cleanup(paths); err == nil || !exists(foreign) {
		t.Errorf("Cleanup with a foreign file = %v, file kept %v; want an error and the file kept", err, exists(foreign))
	}
}
