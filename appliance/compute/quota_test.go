package compute

import (
	"context"
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

func wantQuota(t *testing.T, what string, err error, text string) {
	t.Helper()
	if fault.KindOf(err) != fault.Quota || !strings.Contains(err.Error(), text) {
		t.Errorf("%s: %v (kind %q), want a quota error naming %q", what, err, fault.KindOf(err), text)
	}
}

func TestInstanceQuotaRefusesBeforeAnythingIsMade(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Quota = fakeQuota{QuotaInstances: 2} })
	a, b := e.create("a"), e.create("b")
	_, err := e.createWith(CreateRequest{Name: "c"})
	wantQuota(t, "third instance", err, "quota exceeded for instances: limit 2, in use 2, requested 1")
	if list, _ := e.svc.List(context.Background(), testProject); len(list) != 2 {
		t.Errorf("%d instances after a refused create, want 2", len(list))
	}
	e.waitFor(a.ID, VMActive, PowerRunning)
	e.waitFor(b.ID, VMActive, PowerRunning)
	e.deleteAndWait(a.ID)
	if _, err := e.createWith(CreateRequest{Name: "c"}); err != nil { // the delete freed its place
		t.Errorf("create after a delete: %v", err)
	}
}

func TestCoresAndRAMQuotasCountFlavorsAndResizes(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Quota = fakeQuota{QuotaCores: 3, QuotaRAM: 4096} })
	a := e.create("a") // m1.tiny: 1 vcpu, 512 MiB
	_, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: testProject, Name: "big", Flavor: "m1.large", Image: "img"})
	wantQuota(t, "m1.large", err, "quota exceeded for cores: limit 3, in use 1, requested 4")
	_, err = e.svc.Create(context.Background(), CreateRequest{ProjectID: testProject, Name: "mem", Flavor: "m1.medium", Image: "img"})
	wantQuota(t, "m1.medium", err, "quota exceeded for ram: limit 4096, in use 512, requested 4096")

	e.waitFor(a.ID, VMActive, PowerRunning)
	e.act(a.ID, ActStop)
	e.waitFor(a.ID, VMStopped, PowerShutdown)
	_, err = e.svc.Act(context.Background(), testProject, a.ID, ActResize, ActionArgs{Flavor: "m1.large"})
	wantQuota(t, "resize to m1.large", err, "quota exceeded for cores: limit 3, in use 1, requested 3")
	if _, err := e.svc.Act(context.Background(), testProject, a.ID, ActResize, ActionArgs{Flavor: "m1.small"}); err != nil {
		t.Fatalf("resize within the quota: %v", err)
	}
	if got := e.waitFor(a.ID, VMStopped, PowerShutdown); got.Flavor.Name != "m1.small" {
		t.Fatalf("flavor after resize: %s", got.Flavor.Name)
	}
	u, err := e.svc.Usage(context.Background(), testProject)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{QuotaInstances: 1, QuotaCores: 1, QuotaRAM: 2048}
	if fmt.Sprint(u) != fmt.Sprint(want) {
		t.Errorf("Usage = %v, want %v", u, want)
	}
}
