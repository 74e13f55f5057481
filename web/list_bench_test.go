package web

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/store"
)

// BenchmarkInstanceList10k is GET /api/v1/instances of 10,000 stopped instances through the handler
// chain (the in-process half of benchmark B5, for profiling: -cpuprofile, -memprofile).
func BenchmarkInstanceList10k(b *testing.B) {
	s := listServer(b, 10000, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if rec := do(b, s, "GET", "/api/v1/instances", loopbackAddr, nil); rec.Code != 200 {
			b.Fatalf("list = %d %.300s", rec.Code, rec.Body)
		}
	}
}

// listServer is a test server whose project p1 holds n stopped instances shaped like booted ones
// (B5's records), each passed through tweak (when not nil) before it is stored.
func listServer(t testing.TB, n int, tweak func(i int, inst *compute.Instance)) *Server {
	t.Helper()
	db, comp, imgs, vols, nets := testServicesDB(t)
	ids, _ := testIdentity(t, db, nil)
	s, err := New(Options{Identity: ids, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Host: testHostService(),
		Backup: func(io.Writer) (int64, error) { return 0, nil }, Events: func(uint64, int) ([]json.RawMessage, error) { return nil, nil },
		Compute: comp, Images: imgs, Volumes: vols, Networks: nets, DefaultProject: "p1", MaxBodyBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	kind := store.NewKind[compute.Instance](store.BucketInstances, store.ScopeProject)
	err = db.Update(func(tx *store.Tx) error {
		for i := 0; i < n; i++ {
			inst := listedInstance(fmt.Sprintf("vm-%05d", (i*7919)%n)) // names not in ID order
			if tweak != nil {
				tweak(i, &inst)
			}
			if err := kind.Create(tx, &inst); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// listedInstance is a stopped instance of project p1 with the fields a booted one has.
func listedInstance(name string) compute.Instance {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	var timeline []compute.Stage
	for i, st := range []string{compute.StageAccepted, compute.StageExec, compute.StageQMPReady, compute.StageCont,
		compute.StageFirstByte, compute.StageGuestReady} {
		timeline = append(timeline, compute.Stage{Name: st, At: at.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	return compute.Instance{Meta: store.Meta{Name: name, ProjectID: "p1"},
		Flavor:  compute.Flavor{Meta: store.Meta{ID: store.NewID(), Name: "m1.tiny"}, VCPUs: 1, RAMMiB: 512, DiskGiB: 1, Public: true},
		ImageID: store.NewID(), VMState: compute.VMStopped, PowerState: compute.PowerShutdown, RestartPolicy: compute.RestartNever,
		LaunchedAt: &at, Timeline: timeline, Networks: []string{"default"},
		Addresses: []compute.Address{{Network: "default", IP: "10.0.0.10", MAC: "fa:16:3e:00:00:10"}},
		Boot: compute.BootSpec{Kernel: "/var/lib/cloudlet/images/kernel", Initrd: "/var/lib/cloudlet/images/initrd",
			Cmdline: "console=ttyS0 panic=-1", Firmware: "bios"}}
}
