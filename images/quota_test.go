package images

import (
	"context"
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

func TestImageQuotaCountsTheProjectsImages(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Quota = fakeQuota{QuotaImages: 2} })
	ctx := context.Background()
	create := func(project, name string) (*Image, error) {
		return e.svc.Create(ctx, CreateRequest{ProjectID: project, Name: name, DiskFormat: "raw"})
	}
	for _, name := range []string{"a", "b"} {
		if _, err := create(projectA, name); err != nil {
			t.Fatal(err)
		}
	}
	_, err := create(projectA, "c")
	if fault.KindOf(err) != fault.Quota || !strings.Contains(err.Error(), "quota exceeded for images: limit 2, in use 2, requested 1") {
		t.Errorf("third image: %v, want the images quota", err)
	}
	// An import is refused before it copies anything.
	_, err = e.svc.ImportFile(ctx, ImportFileRequest{ProjectID: projectA, Name: "d", Path: e.qcow2("d.qcow2", "1M"), DiskFormat: "qcow2"})
	if fault.KindOf(err) != fault.Quota {
		t.Errorf("import beyond the quota: %v, want the images quota", err)
	}
	if u, err := e.svc.Usage(ctx, projectA); err != nil || u[QuotaImages] != 2 {
		t.Errorf("Usage = %v, %v; want 2 images", u, err)
	}
	if _, err := create(projectB, "a"); err != nil {
		t.Errorf("another project's first image: %v", err)
	}
	if err := e.svc.Delete(ctx, projectA, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := create(projectA, "c"); err != nil { // the delete freed its place
		t.Errorf("create after a delete: %v", err)
	}
}
