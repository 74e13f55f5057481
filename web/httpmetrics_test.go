package web

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestHTTPMetricsByRouteTemplate: requests are counted and timed by method, route template and
// status; every request no route matched shares one route label, whatever its path or method;
// websocket and event streams are counted but kept out of the latency histogram.
func TestHTTPMetricsByRouteTemplate(t *testing.T) {
	f := newAuthFixture(t)
	reg := prometheus.NewRegistry()
	m, err := newHTTPMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.httpm = m
	f.do("GET", "/api/v1/instances/nosuch-1", f.tokens["admin"], "")
	f.do("GET", "/api/v1/instances/nosuch-2", f.tokens["admin"], "")
	f.do("GET", "/api/v1/instances", f.tokens["admin"], "")
	f.do("GET", "/no/such/path/1", "", "")
	f.do("BREW", "/no/such/path/2", "", "")
	f.do("GET", "/api/v1/instances/nosuch-3/console", "", "", "Upgrade", "websocket", "Connection", "Upgrade")
	f.do("GET", "/api/v1/events", "", "", "Accept", "text/event-stream")

	const (
		count = "cloudlet_http_requests_total"
		hist  = "cloudlet_http_request_duration_seconds"
		open  = "cloudlet_http_streams_open"
	)
	want := map[string]float64{
		count + "{code=404,method=GET,route=/api/v1/instances/:id}":         2,
		count + "{code=200,method=GET,route=/api/v1/instances}":             1,
		count + "{code=404,method=GET,route=unmatched}":                     1,
		count + "{code=404,method=other,route=unmatched}":                   1,
		count + "{code=401,method=GET,route=/api/v1/instances/:id/console}": 1,
		count + "{code=401,method=GET,route=/api/v1/events}":                1,
		hist + "{code=404,method=GET,route=/api/v1/instances/:id}":          2,
		hist + "{code=200,method=GET,route=/api/v1/instances}":              1,
		hist + "{code=404,method=GET,route=unmatched}":                      1,
		hist + "{code=404,method=other,route=unmatched}":                    1,
		open + "{route=/api/v1/instances/:id/console}":                      0,
		open + "{route=/api/v1/events}":                                     0,
	}
	if diff := cmp.Diff(want, collect(t, reg)); diff != "" {
		t.Errorf("series (-want +got):\n%s", diff)
	}
}

// collect reads reg into "name{label=value,…}" → counter value, histogram sample count or gauge.
func collect(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, fam := range families {
		for _, metric := range fam.GetMetric() {
			key := fam.GetName() + "{"
			for i, l := range metric.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + "=" + l.GetValue()
			}
			out[key+"}"] = value(metric)
		}
	}
	return out
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Histogram != nil:
		return float64(m.GetHistogram().GetSampleCount())
	}
	return m.GetGauge().GetValue()
}
