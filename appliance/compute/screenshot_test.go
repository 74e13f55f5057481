package compute

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestScreendumpIsReadOnlyFromARegularFileWithinItsCap(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "host-file")
	if err := os.WriteFile(secret, []byte("P6\n1 1\n255\nabc"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.ppm")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.ppm")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, fifo, dir, filepath.Join(dir, "missing")} {
		if data, err := readCapped(p, 1<<20); err == nil {
			t.Errorf("readCapped(%s) = %q, want an error", filepath.Base(p), data)
		}
	}
	if data, err := readCapped(secret, 14); err != nil || string(data) != "P6\n1 1\n255\nabc" {
		t.Errorf("a regular file at its cap: %q, %v", data, err)
	}
	if _, err := readCapped(secret, 13); err == nil {
		t.Error("a file one byte over its cap was read")
	}
}
