package guestbuild

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// A build's directory is the last line its script prints; the script's other files sit next to it.
func TestRunReturnsTheLastLineTheScriptPrints(t *testing.T) {
	s := Script{Guest: "g", Main: "build.sh", Files: []string{"part.sh"}, FS: fstest.MapFS{
		"build.sh": {Data: []byte(`. "$(dirname "$0")/part.sh"; echo building; echo "$1/$KEY"`)},
		"part.sh":  {Data: []byte("KEY=abc\n")},
	}}
	dir := t.TempDir()
	got, err := Run(context.Background(), s, dir)
	if err != nil || got != filepath.Join(dir, "abc") {
		t.Fatalf("Run = %q, %v; want %s/abc", got, err, dir)
	}
}

// A failed build names the guest and the script and ends with what the script said on stderr.
func TestAFailedBuildSaysWhy(t *testing.T) {
	s := Script{Guest: "g", Main: "build.sh", FS: fstest.MapFS{
		"build.sh": {Data: []byte("echo 'build.sh: no candidate for linux-image' >&2; exit 3")},
	}}
	_, err := Run(context.Background(), s, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "g: build.sh") || !strings.Contains(err.Error(), "exit status 3") ||
		!strings.HasSuffix(strings.TrimSpace(err.Error()), "no candidate for linux-image") {
		t.Fatalf("Run = %v; want the guest, the script, its exit status and its stderr", err)
	}
}

// A caller waiting for another's build gives up when its context ends.
func TestAWaitForTheLockEndsWithTheContext(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockFile(context.Background(), filepath.Join(dir, ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := Script{Guest: "g", Main: "build.sh", FS: fstest.MapFS{"build.sh": {Data: []byte("echo x")}}}
	if _, err := Run(ctx, s, dir); err == nil || !strings.Contains(err.Error(), "wait for lock") {
		t.Fatalf("Run while locked with a done context = %v; want it to give up waiting", err)
	}
}
