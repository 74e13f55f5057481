package store

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOpenLockedInProcess: bbolt's flock belongs to an open file description, so even a second
// Open in the same process waits for the first and then gives up.
func TestOpenLockedInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	openTestDBAt(t, path)

	start := time.Now()
	db, err := Open(path, Options{LockTimeout: 500 * time.Millisecond})
	elapsed := time.Since(start)
	if err == nil {
		db.Close()
		t.Fatal("second Open of a locked catalog succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	want := fmt.Sprintf("open catalog %s: locked by another process (is another cloudlet daemon running on this data dir?)", path)
	if err.Error() != want {
		t.Errorf("second Open error:\n got %s\nwant %s", err, want)
	}
	if elapsed > 10*time.Second {
		t.Errorf("second Open took %v with a 500ms lock timeout", elapsed)
	}

	ro, err := Open(path, Options{ReadOnly: true, LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		ro.Close()
		t.Errorf("read-only Open of a catalog open for writing: %v, want ErrLocked", err)
	}
}

// TestOpenLockedAcrossProcesses runs the test binary again as a second "daemon".
func TestOpenLockedAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}

	out, code := runHelper(t, path)
	if code != 3 || !strings.Contains(out, "locked by another process (is another cloudlet daemon running on this data dir?)") {
		t.Errorf("second process: exit %d, output %q; want exit 3 and the locked message", code, out)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if out, code := runHelper(t, path); code != 0 {
		t.Errorf("second process after the first closed: exit %d, output %q", code, out)
	}
}

// runHelper runs this test binary as the second process (see TestMain) and returns its output and exit code.
func runHelper(t *testing.T, path string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STORE_HELPER_CATALOG="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return string(out), 0
}

// TestMain doubles as the second process of TestOpenLockedAcrossProcesses when STORE_HELPER_CATALOG
// is set: it exits 0 when it could open the catalog, 3 on ErrLocked and 4 on any other error.
func TestMain(m *testing.M) {
	path := os.Getenv("STORE_HELPER_CATALOG")
	if path == "" {
		os.Exit(m.Run())
	}
	db, err := Open(path, Options{LockTimeout: 500 * time.Millisecond})
	switch {
	case errors.Is(err, ErrLocked):
		fmt.Println(err)
		os.Exit(3)
	case err != nil:
		fmt.Println(err)
		os.Exit(4)
	}
	db.Close()
	os.Exit(0)
}
