package e2e

import (
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"cloudlet/internal/testkit"
)

// TestDaemonMetrics: GET /metrics from the real daemon parses as Prometheus text and holds the
// daemon's own metrics: API requests counted by route template, DHCP messages and the metadata
// phone-home of a guest that booted, QMP command latency, the catalog's size and records, quota usage per project with the
// instance in it, goroutines. Without credentials the scrape is 401, with a member's token 403,
// with an admin's API key limited to metrics:read 200.
func TestDaemonMetrics(t *testing.T) {
	c := newCloud(t, "")
	api := httpAPI{t: t, base: "http://" + c.D.Listen}
	admin := c.Token()
	var key struct{ Secret string }
	if code := api.call("POST", "/api/v1/credentials", admin, map[string]any{"name": "prometheus", "project": "admin",
		"allowed_actions": []string{"metrics:read"}}, &key); code != 201 || key.Secret == "" {
		t.Fatalf("metrics:read API key = %d", code)
	}
	member := api.addMember(admin, "pm", "um", "member-pw-8f2c4e61")
	if code, _ := scrape(t, api, ""); code != http.StatusUnauthorized {
		t.Errorf("scrape without credentials = %d, want 401", code)
	}
	if code, _ := scrape(t, api, member); code != http.StatusForbidden {
		t.Errorf("scrape with a member's token = %d, want 403", code)
	}
	before := mustScrape(t, api, key.Secret)

	if err := c.Do("POST", "/api/v1/networks", map[string]any{"name": "lan", "subnet": map[string]any{"cidr": "10.67.0.0/24", "dhcp": true}}, nil); err != nil {
		t.Fatal(err)
	}
	inst := c.Create("vm", kernelImage, map[string]any{"networks": []string{"lan"}})
	c.WaitConsole(inst.ID, ready, 1, bootWait)
	const shows = 3
	for range shows {
		if code := api.call("GET", "/api/v1/instances/"+inst.ID, admin, nil, nil); code != 200 {
			t.Fatalf("show = %d", code)
		}
	}
	after := mustScrape(t, api, key.Secret)

	showSeries := map[string]string{"method": "GET", "route": "/api/v1/instances/:id", "code": "200"}
	if got, was := sample(after, "cloudlet_http_requests_total", showSeries), sample(before, "cloudlet_http_requests_total", showSeries); got < was+shows {
		t.Errorf("GET /api/v1/instances/:id 200 counted %v, was %v: want at least %d more", got, was, shows)
	}
	if got := sample(after, "cloudlet_http_request_duration_seconds", showSeries); got < shows {
		t.Errorf("GET /api/v1/instances/:id latency samples %v, want at least %d", got, shows)
	}
	ack := map[string]string{"result": "ack"}
	if got, was := sample(after, "cloudlet_dhcp_messages_total", ack), sample(before, "cloudlet_dhcp_messages_total", ack); got <= was {
		t.Errorf("DHCP acks %v, were %v before the guest booted: want more", got, was)
	}
	phone := map[string]string{"kind": "ready", "code": "200"} // the test guest phones home before it says READY
	if got, was := sample(after, "cloudlet_metadata_requests_total", phone), sample(before, "cloudlet_metadata_requests_total", phone); got <= was {
		t.Errorf("metadata phone-homes %v, were %v before the guest booted: want more", got, was)
	}
	if got := sample(after, "cloudlet_qmp_command_duration_seconds", map[string]string{"command": "qmp_capabilities", "result": "ok"}); got < 1 {
		t.Errorf("QMP qmp_capabilities ok samples = %v, want some", got)
	}
	for _, name := range []string{"cloudlet_catalog_write_duration_seconds", "cloudlet_catalog_size_bytes", "go_goroutines"} {
		if got := sample(after, name, nil); got <= 0 {
			t.Errorf("%s = %v, want > 0", name, got)
		}
	}
	// Catalog figures and quota usage are read at most every 10 s: wait for a scrape that shows the instance.
	admins := map[string]string{"project": "admin", "resource": "instances"}
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams := mustScrape(t, api, key.Secret)
		inUse, records := sample(fams, "cloudlet_quota_in_use", admins), sample(fams, "cloudlet_catalog_records", map[string]string{"bucket": "instances"})
		if inUse >= 1 && records >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("quota in use %v and catalog instance records %v 30 s after the instance was made, want ≥ 1", inUse, records)
		}
		time.Sleep(time.Second)
	}
}

// scrape GETs /metrics with token (none when "") and returns the status and parsed families.
func scrape(t *testing.T, api httpAPI, token string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	req, err := http.NewRequest("GET", api.base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return resp.StatusCode, nil
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: not Prometheus text: %v", err)
	}
	return resp.StatusCode, fams
}

// mustScrape is scrape that fails the test unless the answer is 200.
func mustScrape(t *testing.T, api httpAPI, token string) map[string]*dto.MetricFamily {
	t.Helper()
	code, fams := scrape(t, api, token)
	if code != 200 {
		t.Fatalf("scrape with the metrics:read key = %d, want 200", code)
	}
	return fams
}

// sample sums name's series whose labels include want (testkit.MetricSum).
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	return testkit.MetricSum(slices.Collect(maps.Values(fams)), name, want)
}
