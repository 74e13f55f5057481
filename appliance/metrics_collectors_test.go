package appliance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cloudlet/appliance/identity"
	"cloudlet/appliance/network/dhcp"
	"cloudlet/appliance/network/dns"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

// stepClock is a clock the test moves by hand.
type stepClock struct{ t time.Time }

func (c *stepClock) now() time.Time { return c.t }

// TestScrapeCacheReadsAtMostOncePerTTL: a figure read at scrape time is read again only once it is
// scrapeCacheTTL old, so scrapes stay cheap on a large catalog.
func TestScrapeCacheReadsAtMostOncePerTTL(t *testing.T) {
	clock := &stepClock{t: time.Unix(1000, 0)}
	loads := 0
	c := newCached(scrapeCacheTTL, clock.now, func() (int, error) { loads++; return loads, nil })
	for _, step := range []struct {
		advance time.Duration
		want    int
	}{{0, 1}, {scrapeCacheTTL - time.Second, 1}, {time.Second, 2}, {0, 2}} {
		clock.t = clock.t.Add(step.advance)
		if v, _ := c.get(); v != step.want {
			t.Errorf("after +%v: value %d, want %d", step.advance, v, step.want)
		}
	}
}

func TestCatalogCollectorReportsSizeAndRecords(t *testing.T) {
	db := testkit.Catalog(t, "", store.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCatalogCollector(db, time.Now))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range families {
		got[f.GetName()] = len(f.GetMetric())
		if f.GetName() == "cloudlet_catalog_size_bytes" && f.GetMetric()[0].GetGauge().GetValue() <= 0 {
			t.Errorf("catalog size %v, want > 0", f.GetMetric()[0].GetGauge().GetValue())
		}
	}
	if got["cloudlet_catalog_size_bytes"] != 1 || got["cloudlet_catalog_records"] != len(store.Buckets()) {
		t.Errorf("series per family %v, want one size and one record count per bucket (%d)", got, len(store.Buckets()))
	}
}

func TestDatapathCollectorReportsServerCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newDatapathCollector(func() (dhcp.Stats, dns.Stats) {
		return dhcp.Stats{Offers: 2, Acks: 3, IgnoredUnknownMAC: 1}, dns.Stats{Answered: 5, Forwarded: 4, DroppedBusy: 1}
	}))
	for name, want := range map[string]float64{"cloudlet_dhcp_messages_total": 6, "cloudlet_dns_queries_total": 10} {
		if got := sumOf(t, reg, name, nil); got != want {
			t.Errorf("%s sums to %v, want %v", name, got, want)
		}
	}
	if got := sumOf(t, reg, "cloudlet_dhcp_messages_total", map[string]string{"result": "ack"}); got != 3 {
		t.Errorf("acks = %v, want 3", got)
	}
}

// fakeQuotas is two projects' reports.
type fakeQuotas struct{ fail bool }

func (f fakeQuotas) Projects(context.Context) ([]identity.Project, error) {
	if f.fail {
		return nil, errors.New("catalog is gone")
	}
	return []identity.Project{{Meta: store.Meta{ID: "p1", Name: "alpha"}}, {Meta: store.Meta{ID: "p2", Name: "beta"}}}, nil
}

func (fakeQuotas) Report(_ context.Context, project string) (*identity.QuotaReport, error) {
	n := int64(len(project))
	return &identity.QuotaReport{ProjectID: project, Project: map[string]string{"p1": "alpha", "p2": "beta"}[project],
		Quotas: map[string]identity.QuotaUsage{"instances": {Limit: 10, InUse: n}, "cores": {Limit: -1, InUse: 2 * n}}}, nil
}

func TestQuotaCollectorReportsEveryProjectsUsageAndLimits(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newQuotaCollector(fakeQuotas{}, time.Now))
	if got := sumOf(t, reg, "cloudlet_quota_in_use", map[string]string{"project_id": "p2", "project": "beta", "resource": "cores"}); got != 4 {
		t.Errorf("beta's cores in use = %v, want 4", got)
	}
	if got := sumOf(t, reg, "cloudlet_quota_limit", map[string]string{"project": "alpha", "resource": "instances"}); got != 10 {
		t.Errorf("alpha's instance limit = %v, want 10", got)
	}
	broken := prometheus.NewRegistry()
	broken.MustRegister(newQuotaCollector(fakeQuotas{fail: true}, time.Now))
	if _, err := broken.Gather(); err == nil {
		t.Error("a failed read gathered without an error")
	}
}

// sumOf gathers reg and sums name's series whose labels include want.
func sumOf(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return testkit.MetricSum(families, name, want)
}
