package main

import (
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

// networkDaemon serves the API over a real network service (records and rules only: no datapath,
// no firewall) on loopback, where the caller is admin, and returns its URL.
func networkDaemon(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db := testkit.Catalog(t, dir, store.Options{})
	nets, err := network.New(network.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	probes := host.Probes{Statfs: func(string) (host.DiskSpace, error) { return host.DiskSpace{}, nil }}
	s, err := web.New(web.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Host:   host.NewService("test", host.Facts{Accel: "tcg"}, dir, filepath.Join(dir, "catalog.db"), probes, time.Now),
		Backup: func(io.Writer) (int64, error) { return 0, nil },
		Events: func(uint64, int) ([]json.RawMessage, error) { return nil, nil },
		// Network commands never reach compute, images or volumes.
		Compute: &compute.Service{}, Images: &images.Service{}, Volumes: &volume.Service{}, Networks: nets, DefaultProject: "p1",
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func wantFields(t *testing.T, what, out string, fields ...string) {
	t.Helper()
	for _, f := range fields {
		if !strings.Contains(out, f) {
			t.Errorf("%s: output lacks %q:\n%s", what, f, out)
		}
	}
}

func TestFloatingIPCommands(t *testing.T) {
	url := networkDaemon(t)
	out, _ := mustCLI(t, url, "network", "create", "public", "--external", "--uplink", "uplink0", "--cidr", "203.0.113.0/24",
		"--gateway", "203.0.113.2", "--pool", "203.0.113.10-203.0.113.20")
	wantFields(t, "network create --external", out, "public", "external", "false")
	mustCLI(t, url, "network", "create", "lan", "--cidr", "10.1.2.0/24")
	mustCLI(t, url, "port", "create", "web", "--network", "lan")
	mustCLI(t, url, "port", "create", "db", "--network", "lan")

	out, _ = mustCLI(t, url, "floating-ip", "create", "public", "--port", "web")
	wantFields(t, "floating-ip create --port", out, "FLOATING IP", "203.0.113.10", "10.1.2.2", "ACTIVE")
	mustCLI(t, url, "floating-ip", "create", "public", "--ip", "203.0.113.20")
	out, _ = mustCLI(t, url, "floating-ip", "set", "203.0.113.20", "--port", "db")
	wantFields(t, "floating-ip set", out, "203.0.113.20", "10.1.2.3", "ACTIVE")
	out, _ = mustCLI(t, url, "floating-ip", "unset", "203.0.113.20")
	wantFields(t, "floating-ip unset", out, "203.0.113.20", "DOWN")
	out, _ = mustCLI(t, url, "-o", "json", "floating-ip", "list")
	var list []network.FloatingIP
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Errorf("floating-ip list -o json: %v\n%s", err, out)
	}
	if _, errOut, err := cli(t, url, "floating-ip", "create", "lan"); err == nil || !strings.Contains(err.Error()+errOut, "network lan is not external") {
		t.Errorf("floating-ip create on a NAT network: %v %s", err, errOut)
	}
	if _, _, err := cli(t, url, "floating-ip", "set", "203.0.113.20", "--port", "web"); err == nil || !strings.Contains(err.Error(), "already has floating IP") {
		t.Errorf("floating-ip set on a port that has one: %v", err)
	}
	mustCLI(t, url, "floating-ip", "delete", "203.0.113.20")
	if _, _, err := cli(t, url, "floating-ip", "show", "203.0.113.20"); err == nil {
		t.Errorf("floating-ip show after delete succeeded")
	}
}

func TestPortForwardCommands(t *testing.T) {
	url := networkDaemon(t)
	mustCLI(t, url, "network", "create", "lan", "--cidr", "10.1.2.0/24")
	mustCLI(t, url, "port", "create", "web", "--network", "lan")
	out, _ := mustCLI(t, url, "port-forward", "create", "web", "--host-port", "8080", "--internal-port", "80", "--name", "www")
	wantFields(t, "port-forward create", out, "PROTOCOL", "tcp", "*:8080", "10.1.2.2:80")
	out, _ = mustCLI(t, url, "port-forward", "create", "web", "--protocol", "udp", "--host-ip", "192.0.2.1", "--host-port", "5353", "--internal-port", "53")
	wantFields(t, "port-forward create --host-ip", out, "udp", "192.0.2.1:5353", "10.1.2.2:53")
	if _, _, err := cli(t, url, "port-forward", "create", "web", "--host-port", "8080", "--internal-port", "81"); err == nil ||
		!strings.Contains(err.Error(), "8080/tcp") {
		t.Errorf("a second forward of 8080/tcp: %v", err)
	}
	out, _ = mustCLI(t, url, "port-forward", "show", "www")
	wantFields(t, "port-forward show", out, "*:8080")
	mustCLI(t, url, "port-forward", "delete", "www")
	out, _ = mustCLI(t, url, "port-forward", "list")
	if strings.Contains(out, "8080") || !strings.Contains(out, "5353") {
		t.Errorf("port-forward list after deleting www:\n%s", out)
	}
}
