package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/host"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
	"cloudlet/images"
	"cloudlet/internal/testkit"
	"cloudlet/store"
	"cloudlet/web"
)

// imageDaemon serves the API (a real image service over a real catalog) on loopback, where the
// caller is admin, and returns its URL and its import directory.
func imageDaemon(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	db := testkit.Catalog(t, dir, store.Options{})
	imports := filepath.Join(dir, "import")
	imgs, err := images.New(db, images.Options{Dir: filepath.Join(dir, "images"), Import: images.ImportOptions{Dir: imports}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { imgs.Close() })
	probes := host.Probes{Statfs: func(string) (host.DiskSpace, error) { return host.DiskSpace{}, nil }}
	s, err := web.New(web.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Host:   host.NewService("test", host.Facts{Accel: "tcg"}, dir, filepath.Join(dir, "catalog.db"), probes, time.Now),
		Backup: func(io.Writer) (int64, error) { return 0, nil },
		Events: func(uint64, int) ([]json.RawMessage, error) { return nil, nil },
		// Image commands never reach compute.
		Compute: &compute.Service{}, Images: imgs, Volumes: &volume.Service{}, Networks: &network.Service{}, DefaultProject: "p1",
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, imports
}

// cli runs one command line against url and returns stdout, stderr and the error.
func cli(t *testing.T, url string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(append([]string{"--url", url}, args...), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func mustCLI(t *testing.T, url string, args ...string) (string, string) {
	t.Helper()
	out, errOut, err := cli(t, url, args...)
	if err != nil {
		t.Fatalf("cloudlet %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

func TestImageCommands(t *testing.T) {
	url, imports := imageDaemon(t)
	dir := t.TempDir()
	data := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16)
	src := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}

	out, _ := mustCLI(t, url, "image", "create", "disk", "--format", "raw", "--min-ram", "256")
	if !strings.Contains(out, "queued") {
		t.Errorf("image create: %q", out)
	}
	out, errOut := mustCLI(t, url, "image", "upload", "disk", src)
	if !strings.Contains(out, "active") || !strings.Contains(errOut, "upload disk: 3.0 MiB / 3.0 MiB (100%)") {
		t.Errorf("image upload: stdout %q stderr %q", out, errOut)
	}
	_, _, err := cli(t, url, "image", "upload", "disk", src)
	if err == nil || !strings.Contains(err.Error(), "HTTP 409") {
		t.Errorf("second upload: %v", err)
	}

	dst := filepath.Join(dir, "copy.raw")
	_, errOut = mustCLI(t, url, "image", "download", "disk", dst)
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) || !strings.Contains(errOut, "download disk:") {
		t.Errorf("image download: %d bytes, stderr %q", len(got), errOut)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("download left %v", ents)
	}

	out, _ = mustCLI(t, url, "image", "share", "disk", "p2", "-o", "json")
	var img images.Image
	if err := json.Unmarshal([]byte(out), &img); err != nil || img.Visibility != "shared" || len(img.Members) != 1 {
		t.Errorf("image share: %q (%v)", out, err)
	}
	out, _ = mustCLI(t, url, "image", "unshare", "disk", "p2", "-o", "json")
	if strings.Contains(out, `"p2"`) {
		t.Errorf("image unshare: %q", out)
	}

	out, _ = mustCLI(t, url, "image", "upload", "made", src, "--format", "raw")
	if !strings.Contains(out, "active") {
		t.Errorf("image upload --format: %q", out)
	}
	out, errOut = mustCLI(t, url, "image", "import", "local", src, "--format", "raw")
	if !strings.Contains(out, "active") || !strings.Contains(errOut, "upload local:") {
		t.Errorf("image import FILE (streamed): stdout %q stderr %q", out, errOut)
	}
	if err := os.WriteFile(filepath.Join(imports, "hosted.raw"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ = mustCLI(t, url, "image", "import", "hosted", "hosted.raw", "--format", "raw", "--from-import-dir")
	if !strings.Contains(out, "active") {
		t.Errorf("image import FILE --from-import-dir: %q", out)
	}
	_, _, err = cli(t, url, "image", "import", "shadow", "/etc/shadow", "--format", "raw", "--from-import-dir")
	if err == nil || !strings.Contains(err.Error(), "outside the import directory") {
		t.Errorf("image import /etc/shadow --from-import-dir: %v", err)
	}
	_, _, err = cli(t, url, "image", "import", "k", src, "--kernel", src)
	if err == nil || !strings.Contains(err.Error(), "need --from-import-dir") {
		t.Errorf("image import --kernel without --from-import-dir: %v", err)
	}
	_, errOut, err = cli(t, url, "image", "import", "lo", "http://127.0.0.1:9/disk.raw", "--format", "raw")
	if err == nil || !strings.Contains(err.Error(), "could not connect") || !strings.Contains(errOut, "import lo:") {
		t.Errorf("image import URL into loopback: %v, stderr %q", err, errOut)
	}
	_, _, err = cli(t, url, "image", "import", "f", "file:///etc/passwd")
	if err == nil || !strings.Contains(err.Error(), "only http and https") {
		t.Errorf("image import file URL: %v", err)
	}
	_, _, err = cli(t, url, "image", "download", "nope", filepath.Join(dir, "x"))
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("download of a missing image: %v", err)
	}
	out, _ = mustCLI(t, url, "image", "list")
	for _, name := range []string{"disk", "made", "local", "hosted", "lo"} {
		if !strings.Contains(out, name) {
			t.Errorf("image list lacks %s: %q", name, out)
		}
	}
}
