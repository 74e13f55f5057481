package images

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// With a ReaderGID, image files are readable by that group only: QEMU running unprivileged can open them.
func TestShareGivesTheQEMUGroupReadAccess(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "0b7e1e0c-0a57-4a3c-9d0c-5f3e1c2b7a11")
	if err := os.Mkdir(img, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(img, "disk"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Service{dir: dir, readerGID: 65534}
	if err := s.shareAll(); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{dir: 0o711, img: 0o750, filepath.Join(img, "disk"): 0o640} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", path, st.Mode().Perm(), mode)
		}
		if path != dir && st.Sys().(*syscall.Stat_t).Gid != 65534 {
			t.Errorf("%s: gid %d, want 65534", path, st.Sys().(*syscall.Stat_t).Gid)
		}
	}
}
