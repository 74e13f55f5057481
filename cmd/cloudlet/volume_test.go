package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
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

// volumeDaemons serve the API over one real volume service (real catalog, real qemu-img) on
// loopback, where the caller is admin: the first URL acts in project p1, the second in p2.
func volumeDaemons(t *testing.T) (dir, p1, p2 string) {
	t.Helper()
	dir = t.TempDir()
	db := testkit.Catalog(t, dir, store.Options{})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	vols, err := volume.New(volume.Options{DB: db, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vols.EnsureDefaultPool(context.Background(), filepath.Join(dir, "pools", "default")); err != nil {
		t.Fatal(err)
	}
	serve := func(project string) string {
		probes := host.Probes{Statfs: func(string) (host.DiskSpace, error) { return host.DiskSpace{}, nil }}
		s, err := web.New(web.Options{
			Logger: log,
			Host:   host.NewService("test", host.Facts{Accel: "tcg"}, dir, filepath.Join(dir, "catalog.db"), probes, time.Now),
			Backup: func(io.Writer) (int64, error) { return 0, nil },
			Events: func(uint64, int) ([]json.RawMessage, error) { return nil, nil },
			// These commands never reach compute or images (attach and detach are tested in web).
			Compute: &compute.Service{}, Images: &images.Service{}, Volumes: vols, Networks: &network.Service{}, DefaultProject: project,
		})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(srv.Close)
		return srv.URL
	}
	return dir, serve("p1"), serve("p2")
}

// volCLI runs one command line against url and returns stdout, stderr and the error.
func volCLI(t *testing.T, url string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr strings.Builder
	err := run(append([]string{"--url", url}, args...), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func mustVolCLI(t *testing.T, url string, args ...string) (string, string) {
	t.Helper()
	out, errOut, err := volCLI(t, url, args...)
	if err != nil {
		t.Fatalf("cloudlet %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out, errOut
}

// tableRow splits the table row whose first column is name.
func tableRow(t *testing.T, table, name string) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == name {
			return f
		}
	}
	t.Fatalf("no row %q in:\n%s", name, table)
	return nil
}

func TestPoolCommands(t *testing.T) {
	dir, url, _ := volumeDaemons(t)
	out, _ := mustVolCLI(t, url, "pool", "create", "fast", "--path", filepath.Join(dir, "fast"), "--preallocation", "metadata")
	if f := tableRow(t, out, "fast"); f[1] == "*" {
		t.Errorf("a second pool became the default: %s", out)
	}
	mustVolCLI(t, url, "pool", "default", "fast")
	out, _ = mustVolCLI(t, url, "pool", "list")
	if f := tableRow(t, out, "fast"); f[1] != "*" || f[2] != filepath.Join(dir, "fast") {
		t.Errorf("pool list after default = %s", out)
	}
	out, _ = mustVolCLI(t, url, "pool", "show", "default", "-o", "json")
	var p volume.PoolStats
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Name != "default" || p.Default {
		t.Errorf("pool show -o json = %s (%v)", out, err)
	}
	if _, _, err := volCLI(t, url, "pool", "create", "nopath"); err == nil || !strings.Contains(err.Error(), "path") {
		t.Errorf("pool create without --path: %v", err)
	}
	mustVolCLI(t, url, "pool", "delete", "default")
	if _, _, err := volCLI(t, url, "pool", "show", "default"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("pool show after delete: %v", err)
	}
}

func TestVolumeCommands(t *testing.T) {
	_, url, _ := volumeDaemons(t)
	out, _ := mustVolCLI(t, url, "volume", "create", "data", "--size", "1", "--bootable")
	if f := tableRow(t, out, "data"); f[1] != "available" || f[2] != "1" || f[4] != "default" || f[5] != "-" {
		t.Errorf("volume create = %s", out)
	}
	mustVolCLI(t, url, "volume", "extend", "data", "--size", "2")
	mustVolCLI(t, url, "volume", "qos", "data", "--read-iops", "100", "--write-bytes-sec", "4096")
	mustVolCLI(t, url, "volume", "qos", "data", "--write-iops", "50")
	mustVolCLI(t, url, "volume", "bootable", "data", "false")
	out, _ = mustVolCLI(t, url, "volume", "show", "data")
	if !strings.Contains(out, "read_iops=100 write_iops=50 read_bytes_sec=- write_bytes_sec=4096") ||
		tableRow(t, out, "size")[1] != "2" || tableRow(t, out, "bootable")[1] != "false" {
		t.Errorf("volume show after extend, qos and bootable:\n%s", out)
	}

	out, _ = mustVolCLI(t, url, "volume", "snapshot", "create", "data", "before")
	if f := tableRow(t, out, "before"); f[1] != "available" || f[4] != "data" {
		t.Errorf("snapshot create = %s", out)
	}
	mustVolCLI(t, url, "volume", "create", "copy", "--snapshot", "before")
	out, _ = mustVolCLI(t, url, "volume", "snapshot", "list", "data")
	tableRow(t, out, "before")
	out, _ = mustVolCLI(t, url, "volume", "snapshot", "list")
	tableRow(t, out, "before")
	mustVolCLI(t, url, "volume", "revert", "data", "before")
	out, _ = mustVolCLI(t, url, "volume", "list", "-o", "json")
	var vols []volume.Volume
	if err := json.Unmarshal([]byte(out), &vols); err != nil || len(vols) != 2 {
		t.Errorf("volume list -o json = %s (%v)", out, err)
	}

	for _, bad := range [][]string{
		{"volume", "create", "x", "--image", "i", "--snapshot", "s"},
		{"volume", "extend", "data"},
		{"volume", "bootable", "data", "maybe"},
		{"volume", "accept", "some-id"},
	} {
		if _, _, err := volCLI(t, url, bad...); err == nil {
			t.Errorf("cloudlet %s succeeded", strings.Join(bad, " "))
		}
	}
	if _, _, err := volCLI(t, url, "volume", "delete", "data"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("delete of a volume with snapshots: %v", err)
	}
	mustVolCLI(t, url, "volume", "delete", "copy")
	mustVolCLI(t, url, "volume", "snapshot", "delete", "before")
	mustVolCLI(t, url, "volume", "delete", "data")
	if out, _ = mustVolCLI(t, url, "volume", "list"); strings.Count(out, "\n") != 1 {
		t.Errorf("volume list after deletes = %s", out)
	}
}

func TestVolumeTransferCommands(t *testing.T) {
	_, p1, p2 := volumeDaemons(t)
	mustVolCLI(t, p1, "volume", "create", "data", "--size", "1")
	out, errOut := mustVolCLI(t, p1, "volume", "transfer", "data")
	f := strings.Fields(strings.Split(out, "\n")[1]) // under the header
	if len(f) != 2 {
		t.Fatalf("volume transfer = %q", out)
	}
	id, key := f[0], f[1]
	if !strings.Contains(errOut, "only this once") {
		t.Errorf("transfer does not warn that the key is shown once: %q", errOut)
	}
	out, _ = mustVolCLI(t, p1, "volume", "show", "data", "-o", "json")
	if !strings.Contains(out, id) || strings.Contains(out, "key_sha256") {
		t.Errorf("volume show -o json during a transfer = %s", out)
	}
	if _, _, err := volCLI(t, p2, "volume", "accept", id, "--key", "wrong"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("accept with a wrong key: %v", err)
	}
	out, _ = mustVolCLI(t, p2, "volume", "accept", id, "--key", key)
	tableRow(t, out, "data")
	mustVolCLI(t, p2, "volume", "show", "data")

	out, _ = mustVolCLI(t, p2, "volume", "transfer", "data", "-o", "json")
	var tr transferCreated
	if err := json.Unmarshal([]byte(out), &tr); err != nil || tr.TransferID == "" {
		t.Fatalf("transfer -o json = %s (%v)", out, err)
	}
	mustVolCLI(t, p2, "volume", "cancel-transfer", tr.TransferID)
	if _, _, err := volCLI(t, p1, "volume", "accept", tr.TransferID, "--key", tr.AuthKey); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("accept of a cancelled transfer: %v", err)
	}
}
