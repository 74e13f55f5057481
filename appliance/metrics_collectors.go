package appliance

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cloudlet/appliance/identity"
	"cloudlet/appliance/network/dhcp"
	"cloudlet/appliance/network/dns"
	"cloudlet/store"
)

// scrapeCacheTTL is how long a figure read from the catalog at scrape time is reused: scrapes
// stay cheap on a large catalog (and under several scrapers), at most this old.
const scrapeCacheTTL = 10 * time.Second

// cached reads a value through load at most once per ttl; concurrent scrapes share one read.
type cached[T any] struct {
	load func() (T, error)
	ttl  time.Duration
	now  func() time.Time

	mu  sync.Mutex // guards the fields below, and is held during a load
	at  time.Time
	v   T
	err error
}

func newCached[T any](ttl time.Duration, now func() time.Time, load func() (T, error)) *cached[T] {
	return &cached[T]{load: load, ttl: ttl, now: now}
}

func (c *cached[T]) get() (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.at.IsZero() || now.Sub(c.at) >= c.ttl {
		c.v, c.err = c.load()
		c.at = now
	}
	return c.v, c.err
}

// catalogCollector reports the catalog's size and its records per bucket.
type catalogCollector struct {
	stats              *cached[store.Stats]
	sizeDesc, recsDesc *prometheus.Desc
}

func newCatalogCollector(db *store.DB, now func() time.Time) *catalogCollector {
	return &catalogCollector{
		stats:    newCached(scrapeCacheTTL, now, db.Stats),
		sizeDesc: prometheus.NewDesc("cloudlet_catalog_size_bytes", "Size of the catalog's data file.", nil, nil),
		recsDesc: prometheus.NewDesc("cloudlet_catalog_records", "Records in the catalog, by bucket (kind of record).",
			[]string{"bucket"}, nil),
	}
}

func (c *catalogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.sizeDesc; ch <- c.recsDesc }

func (c *catalogCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.stats.get()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.sizeDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.sizeDesc, prometheus.GaugeValue, float64(st.SizeBytes))
	for bucket, n := range st.Records {
		ch <- prometheus.MustNewConstMetric(c.recsDesc, prometheus.GaugeValue, float64(n), bucket)
	}
}

// datapathCollector reports what the networks' DHCP and DNS servers did, summed over networks.
type datapathCollector struct {
	stats             func() (dhcp.Stats, dns.Stats)
	dhcpDesc, dnsDesc *prometheus.Desc
}

func newDatapathCollector(stats func() (dhcp.Stats, dns.Stats)) *datapathCollector {
	return &datapathCollector{stats: stats,
		dhcpDesc: prometheus.NewDesc("cloudlet_dhcp_messages_total",
			"DHCP messages the networks' servers handled, by result: the reply sent (offer, ack, nak) or why none was.",
			[]string{"result"}, nil),
		dnsDesc: prometheus.NewDesc("cloudlet_dns_queries_total",
			"DNS queries the networks' servers handled, by result: how each was answered, or why it was dropped.",
			[]string{"result"}, nil),
	}
}

func (c *datapathCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.dhcpDesc; ch <- c.dnsDesc }

func (c *datapathCollector) Collect(ch chan<- prometheus.Metric) {
	d, n := c.stats()
	for result, v := range map[string]uint64{"offer": d.Offers, "ack": d.Acks, "nak": d.Naks,
		"ignored_unknown_mac": d.IgnoredUnknownMAC, "ignored_rate_limited": d.IgnoredRateLimited,
		"ignored_server_message": d.IgnoredServerMessages, "ignored_invalid": d.IgnoredInvalid} {
		ch <- prometheus.MustNewConstMetric(c.dhcpDesc, prometheus.CounterValue, float64(v), result)
	}
	for result, v := range map[string]uint64{"answered": n.Answered, "nxdomain": n.NXDomain, "forwarded": n.Forwarded,
		"upstream_failure": n.UpstreamFailures, "refused": n.Refused, "not_implemented": n.NotImplemented,
		"dropped_malformed": n.DroppedMalformed, "dropped_rate_limited": n.DroppedRateLimited, "dropped_busy": n.DroppedBusy} {
		ch <- prometheus.MustNewConstMetric(c.dnsDesc, prometheus.CounterValue, float64(v), result)
	}
}

// quotaCollector reports every project's quota limits and usage, as GET /api/v1/quotas/{project}
// computes them (quotas.go), read at most every scrapeCacheTTL.
type quotaCollector struct {
	reports              *cached[[]*identity.QuotaReport]
	inUseDesc, limitDesc *prometheus.Desc
}

// quotaSource is what the collector reads: the projects, and each one's report.
type quotaSource interface {
	Projects(ctx context.Context) ([]identity.Project, error)
	Report(ctx context.Context, project string) (*identity.QuotaReport, error)
}

func newQuotaCollector(src quotaSource, now func() time.Time) *quotaCollector {
	labels := []string{"project_id", "project", "resource"}
	return &quotaCollector{
		reports:   newCached(scrapeCacheTTL, now, func() ([]*identity.QuotaReport, error) { return allReports(src) }),
		inUseDesc: prometheus.NewDesc("cloudlet_quota_in_use", "What each project uses of each quota resource.", labels, nil),
		limitDesc: prometheus.NewDesc("cloudlet_quota_limit", "Each project's quota limit per resource (-1: unlimited).", labels, nil),
	}
}

func allReports(src quotaSource) ([]*identity.QuotaReport, error) {
	ctx := context.Background()
	projects, err := src.Projects(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*identity.QuotaReport, 0, len(projects))
	for _, p := range projects {
		r, err := src.Report(ctx, p.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (c *quotaCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.inUseDesc; ch <- c.limitDesc }

func (c *quotaCollector) Collect(ch chan<- prometheus.Metric) {
	reports, err := c.reports.get()
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.inUseDesc, err)
		return
	}
	for _, r := range reports {
		for resource, u := range r.Quotas {
			ch <- prometheus.MustNewConstMetric(c.inUseDesc, prometheus.GaugeValue, float64(u.InUse), r.ProjectID, r.Project, resource)
			ch <- prometheus.MustNewConstMetric(c.limitDesc, prometheus.GaugeValue, float64(u.Limit), r.ProjectID, r.Project, resource)
		}
	}
}

// registerCollectors adds the collectors that read the services at scrape time; the services
// must be built.
func (a *Appliance) registerCollectors() {
	a.metrics.MustRegister(newCatalogCollector(a.db, time.Now), newDatapathCollector(a.network.ServerStats),
		newQuotaCollector(quotaProjects{quotaReports{a}}, time.Now))
}

// quotaProjects adds the project list to the quota reports.
type quotaProjects struct{ quotaReports }

func (q quotaProjects) Projects(ctx context.Context) ([]identity.Project, error) {
	return q.a.identity.Projects(ctx)
}
