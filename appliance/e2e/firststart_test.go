package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/images"
)

// TestFirstStartImportsTheTinyImageOnce: `make run` passes the test guest as --first-start-image;
// the first start imports it as a public, active image and says so, a restart with the same flag
// imports nothing more, and any project's member can see it.
func TestFirstStartImportsTheTinyImageOnce(t *testing.T) {
	disk, err := filepath.EvalSymlinks(GuestPaths(t).Disk)
	if err != nil {
		t.Fatal(err)
	}
	d := NewDaemon(t, cloudletBin)
	flag := "--first-start-image=tiny=" + disk
	d.Start(t, flag)
	d.WaitReady(t)
	if out := d.WaitBanner(t); !strings.Contains(out, "first image:       tiny") {
		t.Errorf("the banner does not name the first image:\n%s", out)
	}
	tiny := func() []images.Image {
		var list []images.Image
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Client().Do(ctx, "GET", "/api/v1/images", nil, &list); err != nil {
			t.Fatal(err)
		}
		var out []images.Image
		for _, img := range list {
			if img.Name == "tiny" {
				out = append(out, img)
			}
		}
		return out
	}
	first := tiny()
	if len(first) != 1 || first[0].Status != images.StatusActive || first[0].Visibility != images.VisibilityPublic {
		t.Fatalf("after the first start the images named tiny are %+v, want one, active and public", first)
	}
	if err := d.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err, exited := d.Wait(15 * time.Second); !exited || err != nil {
		t.Fatalf("after SIGTERM: exited=%v err=%v", exited, err)
	}
	d.Start(t, flag)
	d.WaitReady(t)
	if again := tiny(); len(again) != 1 || again[0].ID != first[0].ID {
		t.Errorf("after a restart the images named tiny are %+v, want only %s", again, first[0].ID)
	}
	if out := d.WaitBanner(t); strings.Contains(out, "first image:") {
		t.Errorf("a restart claims to have imported the first image:\n%s", out)
	}
}

// TestFirstStartImageMustBeNameEqualsAbsolutePath: a malformed flag stops the daemon with a clear error.
func TestFirstStartImageMustBeNameEqualsAbsolutePath(t *testing.T) {
	for _, bad := range []string{"tiny", "tiny=relative/disk.qcow2", "=/abs/disk.qcow2", "bad name=/abs/disk.qcow2"} {
		_, stderr, code := cli(t, "serve", "--data-dir", t.TempDir(), "--run-dir", t.TempDir(), "--first-start-image", bad)
		if code == 0 || !strings.Contains(stderr, "first start image") {
			t.Errorf("serve --first-start-image %q = exit %d, stderr %q; want a refusal naming the flag", bad, code, stderr)
		}
	}
}
