package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"cloudlet/appliance/identity"
	"cloudlet/web/client"
)

// quotas reads GET /api/v1/quotas/admin.
func (c *Cloud) quotas() identity.QuotaReport {
	c.T.Helper()
	var r identity.QuotaReport
	if err := c.Do("GET", "/api/v1/quotas/admin", nil, &r); err != nil {
		c.T.Fatalf("GET /api/v1/quotas/admin: %v", err)
	}
	return r
}

func (c *Cloud) setQuota(resource string, limit int64) {
	c.T.Helper()
	if err := c.Do("PUT", "/api/v1/quotas/admin", map[string]any{"limits": map[string]int64{resource: limit}}, nil); err != nil {
		c.T.Fatalf("set quota %s to %d: %v", resource, limit, err)
	}
}

// The admin project with an instances limit of 2: the third create is a 409 naming the quota, the limit
// and the usage, and nothing of it is left; the report shows limit and use, and deleting frees.
func TestQuotaInstancesLimit(t *testing.T) {
	c := newCloud(t, "")
	c.setQuota("instances", 2)
	none := map[string]any{"networks": []string{}}
	a, b := c.Create("a", kernelImage, none).ID, c.Create("b", kernelImage, none).ID
	var third struct{}
	err := c.Do("POST", "/api/v1/instances", map[string]any{"name": "c", "image": kernelImage, "flavor": "m1.tiny",
		"networks": []string{}}, &third)
	apiErr, ok := err.(*client.Error)
	if !ok || apiErr.Code != 409 || !strings.Contains(apiErr.Message, "quota exceeded for instances: limit 2, in use 2, requested 1") {
		t.Fatalf("third instance: %v, want 409 naming instances, limit 2, in use 2", err)
	}
	if err := c.Do("GET", "/api/v1/instances/c", nil, nil); err == nil {
		t.Error("the refused instance exists")
	}
	r := c.quotas()
	if got := r.Quotas["instances"]; got != (identity.QuotaUsage{Limit: 2, InUse: 2}) {
		t.Errorf("instances: %+v, want limit 2, in use 2", got)
	}
	if got := r.Quotas["cores"]; got.Limit != 20 || got.InUse != 2 {
		t.Errorf("cores: %+v, want limit 20, in use 2 (two m1.tiny)", got)
	}
	sock := []string{"--socket", c.D.Socket}
	out, errOut, code := cli(t, append([]string{"quota", "show", "admin"}, sock...)...)
	if code != 0 || !strings.Contains(out, "instances") || !strings.Contains(out, "IN USE") {
		t.Errorf("quota show: exit %d\n%s%s", code, out, errOut)
	}
	c.DeleteAndWait(a)
	c.DeleteAndWait(b)
	r = c.quotas()
	for _, name := range []string{"instances", "cores", "ram", "volumes", "gigabytes", "ports"} {
		if r.Quotas[name].InUse != 0 {
			t.Errorf("%s after deleting every instance: %+v, want none in use", name, r.Quotas[name])
		}
	}
	if out, errOut, code := cli(t, append([]string{"quota", "set", "admin", "--instances", "-1"}, sock...)...); code != 0 ||
		!strings.Contains(out, "unlimited") {
		t.Errorf("quota set --instances -1: exit %d\n%s%s", code, out, errOut)
	}
}

// 50 concurrent volume creates against a fresh limit of 5: exactly 5 volumes exist afterwards, every
// other create is a 409 naming the volumes quota.
func TestQuotaConcurrentCreates(t *testing.T) {
	const creates, limit = 50, 5
	c := newCloud(t, "")
	c.setQuota("volumes", limit)
	var wg sync.WaitGroup
	errs := make([]error, creates)
	for i := range creates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Do("POST", "/api/v1/volumes", map[string]any{"name": fmt.Sprintf("v%d", i), "size_gib": 1}, nil)
		}()
	}
	wg.Wait()
	made := 0
	for _, err := range errs {
		if err == nil {
			made++
			continue
		}
		if apiErr, ok := err.(*client.Error); !ok || apiErr.Code != 409 || !strings.Contains(apiErr.Message, "quota exceeded for volumes: limit 5") {
			t.Errorf("a create failed otherwise than on the quota: %v", err)
		}
	}
	var vols []struct{ Name string }
	if err := c.Do("GET", "/api/v1/volumes", nil, &vols); err != nil {
		t.Fatal(err)
	}
	if made != limit || len(vols) != limit {
		t.Errorf("%d creates succeeded and %d volumes exist, want %d", made, len(vols), limit)
	}
	if got := c.quotas().Quotas["volumes"]; got != (identity.QuotaUsage{Limit: limit, InUse: limit}) {
		t.Errorf("volumes: %+v, want limit %d, in use %d", got, limit, limit)
	}
}
