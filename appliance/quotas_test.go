package appliance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
	"cloudlet/appliance/network"
	"cloudlet/appliance/volume"
	"cloudlet/images"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

// quotaAppliance wires the real services over one catalog with identity's quotas, as open does, without
// QEMU, datapath or listeners.
func quotaAppliance(t *testing.T) *Appliance {
	t.Helper()
	dir := t.TempDir()
	db := testkit.Catalog(t, dir, store.Options{})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &Appliance{db: db, log: log, identity: identity.New(db)}
	_, err := a.identity.Bootstrap(filepath.Join(dir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	if a.images, err = images.New(db, images.Options{Dir: filepath.Join(dir, "images"), Quota: a.identity}); err != nil {
		t.Fatal(err)
	}
	if a.volumes, err = volume.New(volume.Options{DB: db, Log: log, Quota: a.identity}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.volumes.EnsureDefaultPool(context.Background(), filepath.Join(dir, "pool")); err != nil {
		t.Fatal(err)
	}
	if a.network, err = network.New(network.Options{DB: db, Quota: a.identity}); err != nil {
		t.Fatal(err)
	}
	a.compute, err = compute.New(compute.Options{DB: db, Log: log, RunDir: filepath.Join(dir, "run"),
		StateDir: filepath.Join(dir, "state"), Volumes: computeVolumes{a.volumes}, Quota: a.identity,
		Images: func(context.Context, string, string) (compute.BootImage, error) {
			return compute.BootImage{}, fault.New(fault.NotFound, "no images")
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.compute.Close() })
	return a
}

// 1000 concurrent creates against identity's real limit leave exactly the limit, and the report
// shows it; every refusal names the quota, the limit and the usage.
func TestConcurrentCreatesStopAtTheProjectsLimit(t *testing.T) {
	const creates, limit = 1000, 25
	a := quotaAppliance(t)
	ctx := context.Background()
	q := quotaReports{a}
	if _, err := q.SetLimits(ctx, identity.AdminName, map[string]int64{identity.QuotaPorts: limit}); err != nil {
		t.Fatal(err)
	}
	admin, err := a.identity.AdminProjectID()
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.network.CreateNetwork(ctx, admin, network.CreateNetworkRequest{Name: "lan",
		Subnet: network.Subnet{CIDR: netip.MustParsePrefix("10.7.0.0/16"), DHCP: true}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, creates)
	for i := range creates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = a.network.CreatePort(ctx, admin, network.CreatePortRequest{Name: fmt.Sprintf("p%d", i), Network: "lan"})
		}()
	}
	wg.Wait()
	made := 0
	for _, err := range errs {
		switch {
		case err == nil:
			made++
		case fault.KindOf(err) != fault.Quota || !strings.Contains(err.Error(), fmt.Sprintf("quota exceeded for ports: limit %d, in use %d, requested 1", limit, limit)):
			t.Errorf("a create failed otherwise than on the quota: %v", err)
		}
	}
	if made != limit {
		t.Errorf("%d ports made, want %d", made, limit)
	}
	if _, err := a.volumes.Create(ctx, admin, volume.CreateRequest{Name: "data", SizeGiB: 3}); err != nil {
		t.Fatal(err)
	}
	r, err := q.Report(ctx, identity.AdminName)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]identity.QuotaUsage{
		identity.QuotaPorts: {Limit: limit, InUse: limit}, identity.QuotaNetworks: {Limit: 100, InUse: 1},
		identity.QuotaVolumes: {Limit: 10, InUse: 1}, identity.QuotaGigabytes: {Limit: 1000, InUse: 3},
		identity.QuotaInstances: {Limit: 10}, identity.QuotaImages: {Limit: 100},
	} {
		if got := r.Quotas[name]; got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}
