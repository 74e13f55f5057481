package web

import (
	"encoding/json"
	"strings"
	"testing"

	"cloudlet/appliance/network"
)

type apiCall struct {
	method, path, body string
	want               int
	words              []string // the answer must contain each
}

func runCalls(t *testing.T, s *Server, calls []apiCall) {
	t.Helper()
	for _, c := range calls {
		rec := do(t, s, c.method, c.path, loopbackAddr, strings.NewReader(c.body))
		if rec.Code != c.want {
			t.Errorf("%s %s %s: %d %s, want %d", c.method, c.path, c.body, rec.Code, rec.Body, c.want)
			continue
		}
		for _, w := range c.words {
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("%s %s %s: answer %s does not contain %q", c.method, c.path, c.body, rec.Body, w)
			}
		}
	}
}

// publishingServer has external network public (203.0.113.0/24, floating IPs .10-.20 on uplink0),
// NAT network lan and ports web and db on it.
func publishingServer(t *testing.T) *Server {
	t.Helper()
	s := newTestServer(t)
	runCalls(t, s, []apiCall{
		{"POST", "/api/v1/networks", `{"name":"public","external":true,"uplink":"uplink0","subnet":{"cidr":"203.0.113.0/24",` +
			`"gateway":"203.0.113.2","allocation_pools":[{"start":"203.0.113.10","end":"203.0.113.20"}]}}`, 201, []string{`"kind":"external"`, `"external":true`}},
		{"POST", "/api/v1/networks", `{"name":"lan","subnet":{"cidr":"10.1.2.0/24"}}`, 201, nil},
		{"POST", "/api/v1/ports", `{"name":"web","network":"lan"}`, 201, nil},
		{"POST", "/api/v1/ports", `{"name":"db","network":"lan"}`, 201, nil},
	})
	return s
}

// The floating IP routes: allocate, associate, refuse conflicts (409) and bad input (400), show by
// address, disassociate, delete.
func TestFloatingIPRoutes(t *testing.T) {
	s := publishingServer(t)
	runCalls(t, s, []apiCall{
		{"GET", "/api/v1/floating-ips", "", 200, []string{"[]"}},
		{"POST", "/api/v1/floating-ips", `{"network":"public","port":"web"}`, 201, []string{`"floating_ip_address":"203.0.113.10"`, `"status":"ACTIVE"`}},
		{"POST", "/api/v1/floating-ips", `{"network":"public","floating_ip_address":"203.0.113.20"}`, 201, []string{`"status":"DOWN"`}},
		{"POST", "/api/v1/floating-ips", `{"network":"lan"}`, 400, []string{"network lan is not external"}},
		{"POST", "/api/v1/floating-ips", `{"network":"public","floating_ip_address":"203.0.113.20"}`, 409, []string{"already taken"}},
		{"POST", "/api/v1/floating-ips", `{"network":"public","floating_ip_address":"nonsense"}`, 400, nil},
		{"POST", "/api/v1/floating-ips", `{"network":"nope"}`, 404, []string{"nope"}},
		{"PUT", "/api/v1/floating-ips/203.0.113.20", `{"port":"web"}`, 409, []string{"web", "already has floating IP 203.0.113.10"}},
		{"PUT", "/api/v1/floating-ips/203.0.113.10", `{"port":"db"}`, 409, []string{"web", "disassociate it first"}},
		{"PUT", "/api/v1/floating-ips/203.0.113.20", `{}`, 400, []string{"port"}},
		{"PUT", "/api/v1/floating-ips/203.0.113.20", `{"port":"db"}`, 200, []string{`"status":"ACTIVE"`}},
		{"PUT", "/api/v1/floating-ips/203.0.113.10", `{"port":""}`, 200, []string{`"status":"DOWN"`, `"port_id":""`}},
		{"GET", "/api/v1/floating-ips/203.0.113.10", "", 200, []string{`"floating_network_id"`}},
		{"DELETE", "/api/v1/floating-ips/203.0.113.10", "", 204, nil},
		{"GET", "/api/v1/floating-ips/203.0.113.10", "", 404, nil},
		{"POST", "/api/v1/ports", `{"name":"x","network":"public"}`, 409, []string{"public", "external"}},
		{"POST", "/api/v1/networks", `{"name":"bad","kind":"nat","external":true,"subnet":{"cidr":"198.51.100.0/24"}}`, 400, []string{"external"}},
	})
	rec := do(t, s, "GET", "/api/v1/floating-ips", loopbackAddr, nil)
	var list []network.FloatingIP
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 1 || list[0].IP.String() != "203.0.113.20" {
		t.Errorf("floating IPs after the delete: %s (%v), want 203.0.113.20 only", rec.Body, err)
	}
}

// The port forward routes: publish, refuse a taken host port (409) and bad input (400), delete.
func TestPortForwardRoutes(t *testing.T) {
	s := publishingServer(t)
	rec := do(t, s, "POST", "/api/v1/port-forwards", loopbackAddr,
		strings.NewReader(`{"port":"web","protocol":"tcp","host_port":8080,"internal_port":80}`))
	var pf network.PortForward
	if err := json.Unmarshal(rec.Body.Bytes(), &pf); rec.Code != 201 || err != nil || pf.InternalPort != 80 {
		t.Fatalf("create port forward: %d %s (%v)", rec.Code, rec.Body, err)
	}
	runCalls(t, s, []apiCall{
		{"POST", "/api/v1/port-forwards", `{"port":"db","protocol":"tcp","host_port":8080,"internal_port":81}`, 409, []string{"8080/tcp", "web"}},
		{"POST", "/api/v1/port-forwards", `{"port":"db","protocol":"sctp","host_port":8081,"internal_port":81}`, 400, []string{"sctp"}},
		{"POST", "/api/v1/port-forwards", `{"port":"db","protocol":"tcp","host_port":8081}`, 400, []string{"internal_port"}},
		{"GET", "/api/v1/port-forwards", "", 200, []string{pf.ID}},
		{"GET", "/api/v1/port-forwards/" + pf.ID, "", 200, []string{`"host_port":8080`}},
		{"DELETE", "/api/v1/port-forwards/" + pf.ID, "", 204, nil},
		{"GET", "/api/v1/port-forwards/" + pf.ID, "", 404, nil},
		{"GET", "/api/v1/port-forwards", "", 200, []string{"[]"}},
	})
}
