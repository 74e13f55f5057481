package volume

import (
	"fmt"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// fakeQuota applies fixed limits the way identity does; a resource it does not list is unlimited.
type fakeQuota map[string]int64

func (q fakeQuota) Check(_ *store.Tx, _, resource string, inUse, requested int64) error {
	limit, ok := q[resource]
	if !ok || requested <= 0 || inUse+requested <= limit {
		return nil
	}
	return fault.New(fault.Quota, "quota exceeded for %s: limit %d, in use %d, requested %d", resource, limit, inUse, requested)
}

// quotaEnv is a volume service whose project has the given limits.
func quotaEnv(t *testing.T, q fakeQuota) *env {
	e := newEnv(t)
	e.o.Quota = q
	e.start()
	return e
}

func wantQuota(t *testing.T, what string, err error, text string) {
	t.Helper()
	if fault.KindOf(err) != fault.Quota || !strings.Contains(err.Error(), text) {
		t.Errorf("%s: %v (kind %q), want a quota error naming %q", what, err, fault.KindOf(err), text)
	}
}

func TestVolumeQuotaCountsVolumesAndLeavesNothingBehind(t *testing.T) {
	e := quotaEnv(t, fakeQuota{QuotaVolumes: 2})
	e.create(CreateRequest{Name: "a", SizeGiB: 1})
	e.create(CreateRequest{Name: "b", ImageID: "img"})
	_, err := e.svc.Create(ctx, proj, CreateRequest{Name: "c", SizeGiB: 1})
	wantQuota(t, "third volume", err, "quota exceeded for volumes: limit 2, in use 2, requested 1")
	// A boot volume compute asks for counts the same.
	_, err = e.svc.Create(ctx, proj, CreateRequest{Name: "boot", ImageID: "img", ReserveFor: "i1"})
	wantQuota(t, "boot volume", err, "volumes: limit 2, in use 2")
	if vols, _ := e.svc.List(ctx, proj); len(vols) != 2 {
		t.Errorf("%d volumes after refused creates, want 2", len(vols))
	}
	if err := e.svc.Delete(ctx, proj, "a"); err != nil {
		t.Fatal(err)
	}
	e.create(CreateRequest{Name: "c", SizeGiB: 1}) // the delete freed its place
	if _, err := e.svc.Create(ctx, other, CreateRequest{Name: "c", SizeGiB: 1}); err != nil {
		t.Errorf("another project's first volume: %v", err)
	}
}

func TestGigabytesQuotaCountsVolumesSnapshotsAndExtends(t *testing.T) {
	e := quotaEnv(t, fakeQuota{QuotaGigabytes: 5, QuotaSnapshots: 1})
	e.create(CreateRequest{Name: "data", SizeGiB: 2})
	e.snapshot("data", "s1") // 2 GiB more: a snapshot counts at its volume's size
	_, err := e.svc.Create(ctx, proj, CreateRequest{Name: "big", SizeGiB: 2})
	wantQuota(t, "volume over gigabytes", err, "quota exceeded for gigabytes: limit 5, in use 4, requested 2")
	_, err = e.createSnapshot(proj, "data", "s2")
	wantQuota(t, "second snapshot", err, "quota exceeded for snapshots: limit 1, in use 1, requested 1")
	_, err = e.extend(proj, "data", 4)
	wantQuota(t, "extend", err, "quota exceeded for gigabytes: limit 5, in use 4, requested 2")
	if v := e.get("data"); v.SizeGiB != 2 || v.Status != StatusAvailable {
		t.Errorf("after a refused extend: %d GiB, %s; want 2 GiB, available", v.SizeGiB, v.Status)
	}
	if _, err := e.extend(proj, "data", 3); err != nil {
		t.Errorf("extend within the quota: %v", err)
	}
	u, err := e.svc.Usage(ctx, proj)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{QuotaVolumes: 1, QuotaSnapshots: 1, QuotaGigabytes: 5}
	if fmt.Sprint(u) != fmt.Sprint(want) {
		t.Errorf("Usage = %v, want %v", u, want)
	}
}

func TestTransferNeedsRoomInTheNewProject(t *testing.T) {
	e := quotaEnv(t, fakeQuota{QuotaSnapshots: 1})
	e.create(CreateRequest{Name: "data", SizeGiB: 1})
	e.snapshot("data", "s1")
	if _, err := e.svc.Create(ctx, other, CreateRequest{Name: "mine", SizeGiB: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.createSnapshot(other, "mine", "m1"); err != nil {
		t.Fatal(err)
	}
	id, key, err := e.svc.CreateTransfer(ctx, proj, "data")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.AcceptTransfer(ctx, other, id, key)
	wantQuota(t, "accept", err, "quota exceeded for snapshots: limit 1, in use 1, requested 1")
	if v := e.get("data"); v.ProjectID != proj || v.Transfer == nil {
		t.Errorf("a refused accept moved the volume or dropped its transfer: %+v", v)
	}
}
