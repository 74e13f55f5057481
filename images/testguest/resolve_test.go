package testguest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"cloudlet/images/testguest"
)

// The candidates build.sh resolved are kept with apt's state: while that state stands, a build (every
// test package's Ensure runs build.sh) does not run apt-cache at all, and where it must, an apt-cache
// that fails or is killed is named with its exit status, not taken for "no candidate".
func TestBuildAsksAptOnlyWhenItsStateIsNewAndNamesAFailedAptCache(t *testing.T) {
	built := ensureGuest(t) // resolved and kept in the default dir
	shims := t.TempDir()
	killed := "#!/bin/sh\necho apt-cache ran >>" + filepath.Join(shims, "ran") + "\nkill -9 $$\n"
	if err := os.WriteFile(filepath.Join(shims, "apt-cache"), []byte(killed), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", shims+string(os.PathListSeparator)+os.Getenv("PATH"))

	again, err := testguest.Ensure(context.Background(), filepath.Dir(built.Dir))
	if err != nil || again.Dir != built.Dir {
		t.Fatalf("Ensure with apt's state unchanged: %+v, %v; want %s without asking apt", again, err, built.Dir)
	}
	if _, err := os.Stat(filepath.Join(shims, "ran")); err == nil {
		t.Fatal("apt-cache ran although apt's state had not changed since the candidates were resolved")
	}

	fresh := t.TempDir() // the same build, but no resolved candidates kept: apt must be asked
	copyBuild(t, built.Dir, filepath.Join(fresh, filepath.Base(built.Dir)))
	_, err = testguest.Ensure(context.Background(), fresh)
	if err == nil || !strings.Contains(err.Error(), "exit status 137 (signal 9)") {
		t.Fatalf("Ensure with apt-cache killed: %v; want an error naming its exit status and signal", err)
	}
}

func copyBuild(t *testing.T, from, to string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", from, to).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, out)
	}
}
