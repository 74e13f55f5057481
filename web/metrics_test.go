package web

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"cloudlet/appliance/identity"
)

// TestMetricsAreForAdminsAndKeysLimitedToThem: GET /metrics answers 401 without credentials (the
// Prometheus scraper sends a bearer token), 403 to members, and the registry in Prometheus text
// format to an admin token and to an admin's API key limited to metrics:read.
func TestMetricsAreForAdminsAndKeysLimitedToThem(t *testing.T) {
	f := newAuthFixture(t)
	reg := prometheus.NewRegistry()
	probe := prometheus.NewCounter(prometheus.CounterOpts{Name: "cloudlet_test_probe_total", Help: "a test counter"})
	probe.Add(3)
	reg.MustRegister(probe)
	f.srv.opts.Metrics = reg

	if rec := f.do("GET", "/metrics", "", ""); rec.Code != 401 {
		t.Errorf("GET /metrics without a token = %d, want 401", rec.Code)
	}
	if rec := f.do("GET", "/metrics", f.tokens["member"], ""); rec.Code != 403 {
		t.Errorf("GET /metrics as a member = %d, want 403", rec.Code)
	}
	admin, err := f.ids.User(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	key, err := f.ids.CreateCredential(context.Background(), admin.ID, identity.CredentialSpec{Name: "prometheus",
		Project: "admin", AllowedActions: []identity.Action{"metrics:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if rec := f.do("GET", "/api/v1/instances", key.Secret, ""); rec.Code != 403 {
		t.Errorf("the metrics-only key listed instances: %d, want 403", rec.Code)
	}
	for who, token := range map[string]string{"admin token": f.tokens["admin"], "metrics:read key": key.Secret} {
		rec := f.do("GET", "/metrics", token, "")
		if rec.Code != 200 {
			t.Fatalf("GET /metrics with the %s = %d %s", who, rec.Code, rec.Body)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
		if err != nil {
			t.Fatalf("GET /metrics with the %s: not Prometheus text: %v", who, err)
		}
		got := families["cloudlet_test_probe_total"]
		if got == nil || got.GetMetric()[0].GetCounter().GetValue() != 3 {
			t.Errorf("GET /metrics with the %s: cloudlet_test_probe_total = %v, want 3", who, got)
		}
	}
}

// brokenCollector fails every collection, like a catalog that cannot be read.
type brokenCollector struct{ desc *prometheus.Desc }

func (b brokenCollector) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }
func (b brokenCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(b.desc, errors.New("catalog unreadable"))
}

// TestAFailingCollectorDoesNotHideTheOthers: one collector's error is logged and the scrape still
// carries every other metric (a monitoring system keeps seeing the daemon while its catalog is sick).
func TestAFailingCollectorDoesNotHideTheOthers(t *testing.T) {
	f := newAuthFixture(t)
	reg := prometheus.NewRegistry()
	probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: "cloudlet_test_probe", Help: "a test gauge"})
	reg.MustRegister(probe, brokenCollector{prometheus.NewDesc("cloudlet_test_broken", "fails", nil, nil)})
	f.srv.opts.Metrics = reg
	rec := f.do("GET", "/metrics", f.tokens["admin"], "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "cloudlet_test_probe 0") {
		t.Fatalf("GET /metrics with one failing collector = %d %s, want 200 with the others", rec.Code, rec.Body)
	}
	if !strings.Contains(f.log.String(), "catalog unreadable") {
		t.Errorf("the failing collector's error was not logged: %s", f.log.String())
	}
}
