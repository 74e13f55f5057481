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
	"cloudlet/appliance/identity"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
	"cloudlet/images"
	"cloudlet/internal/testkit"
	"cloudlet/store"
	"cloudlet/web"
)

// networkQuotas joins identity's limits with the network service's usage, as the appliance does
// with every service.
type networkQuotas struct {
	id   *identity.Service
	nets *network.Service
}

func (q networkQuotas) Report(ctx context.Context, project string) (*identity.QuotaReport, error) {
	return q.id.Report(ctx, project, q.nets.Usage)
}

func (q networkQuotas) SetLimits(ctx context.Context, project string, limits map[string]int64) (*identity.QuotaReport, error) {
	if _, err := q.id.SetLimits(ctx, project, limits); err != nil {
		return nil, err
	}
	return q.Report(ctx, project)
}

func (q networkQuotas) ResetLimits(ctx context.Context, project string) (*identity.QuotaReport, error) {
	if _, err := q.id.ResetLimits(ctx, project); err != nil {
		return nil, err
	}
	return q.Report(ctx, project)
}

// quotaDaemon serves the API over identity (project admin) and a network service that checks its
// quotas, on loopback, where the caller is admin.
func quotaDaemon(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db := testkit.Catalog(t, dir, store.Options{})
	id := identity.New(db)
	if _, err := id.Bootstrap(filepath.Join(dir, "admin-password")); err != nil {
		t.Fatal(err)
	}
	admin, err := id.AdminProjectID()
	if err != nil {
		t.Fatal(err)
	}
	nets, err := network.New(network.Options{DB: db, Quota: id})
	if err != nil {
		t.Fatal(err)
	}
	probes := host.Probes{Statfs: func(string) (host.DiskSpace, error) { return host.DiskSpace{}, nil }}
	s, err := web.New(web.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Host:   host.NewService("test", host.Facts{Accel: "tcg"}, dir, filepath.Join(dir, "catalog.db"), probes, time.Now),
		Backup: func(io.Writer) (int64, error) { return 0, nil },
		Events: func(uint64, int) ([]json.RawMessage, error) { return nil, nil },
		// Quota commands never reach compute, images or volumes.
		Compute: &compute.Service{}, Images: &images.Service{}, Volumes: &volume.Service{}, Networks: nets,
		Quotas: networkQuotas{id: id, nets: nets}, DefaultProject: admin,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestQuotaCommands(t *testing.T) {
	url := quotaDaemon(t)
	out, _ := mustCLI(t, url, "quota", "show")
	wantFields(t, "quota show", out, "RESOURCE", "LIMIT", "IN USE", "instances", "10", "ports", "500", "floating_ips")

	out, _ = mustCLI(t, url, "quota", "set", "admin", "--ports", "1", "--networks", "-1", "--floating-ips=7")
	wantFields(t, "quota set", out, "unlimited")
	mustCLI(t, url, "network", "create", "lan", "--cidr", "10.1.2.0/24")
	mustCLI(t, url, "port", "create", "web", "--network", "lan")
	_, errOut, err := cli(t, url, "port", "create", "db", "--network", "lan")
	if err == nil || !strings.Contains(err.Error(), "quota exceeded for ports: limit 1, in use 1, requested 1") {
		t.Errorf("second port beyond the quota: %v (stderr %q)", err, errOut)
	}

	out, _ = mustCLI(t, url, "-o", "json", "quota", "show", "admin")
	var r identity.QuotaReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("quota show -o json: %v: %s", err, out)
	}
	for name, want := range map[string]identity.QuotaUsage{
		"ports": {Limit: 1, InUse: 1}, "networks": {Limit: -1, InUse: 1}, "floating_ips": {Limit: 7},
		"security_groups": {Limit: 10, InUse: 1}, "security_group_rules": {Limit: 100, InUse: 2}, // the default group
	} {
		if got := r.Quotas[name]; got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}

	out, _ = mustCLI(t, url, "quota", "reset", "admin")
	wantFields(t, "quota reset", out, "500")
	for _, args := range [][]string{
		{"quota", "set", "admin"},                   // nothing to set
		{"quota", "set", "admin", "--ports", "-2"},  // below -1
		{"quota", "set", "nope", "--ports", "2"},    // unknown project
		{"quota", "set", "admin", "--ports", "two"}, // not a number
	} {
		if _, _, err := cli(t, url, args...); err == nil {
			t.Errorf("cloudlet %s succeeded", strings.Join(args, " "))
		}
	}
}
