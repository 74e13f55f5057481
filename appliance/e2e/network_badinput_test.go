package e2e

import (
	"strings"
	"testing"
)

// Bad network input over the API gets a clear 4xx naming the problem, and leaves nothing behind.
func TestNetworkBadInput(t *testing.T) {
	c := newCloud(t, "")
	steps := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"invalid CIDR", "POST", "/api/v1/networks", `{"name":"a","subnet":{"cidr":"10.300.0.0/24"}}`, 400, "10.300.0.0/24"},
		{"gateway outside the subnet", "POST", "/api/v1/networks", `{"name":"a","subnet":{"cidr":"10.50.0.0/24","gateway":"10.51.0.1"}}`, 400, "10.51.0.1"},
		{"a tiny network", "POST", "/api/v1/networks", `{"name":"tiny","subnet":{"cidr":"10.50.0.0/30"}}`, 201, ""},
		{"overlapping CIDR", "POST", "/api/v1/networks", `{"name":"b","subnet":{"cidr":"10.50.0.0/16"}}`, 409, "overlaps subnet 10.50.0.0/30 of network tiny"},
		{"the one free address", "POST", "/api/v1/ports", `{"name":"p1","network":"tiny"}`, 201, ""},
		{"a fixed IP another port holds", "POST", "/api/v1/ports", `{"name":"p4","network":"tiny","fixed_ip":"10.50.0.2"}`, 409, "already taken by port p1"},
		{"exhausted pool", "POST", "/api/v1/ports", `{"name":"p2","network":"tiny"}`, 409, "no free address"},
		{"the gateway as a fixed IP", "POST", "/api/v1/ports", `{"name":"p3","network":"default","fixed_ip":"GATEWAY"}`, 409, "gateway"},
		{"rule with a bad port range", "POST", "/api/v1/security-groups/default/rules", `{"direction":"ingress","protocol":"tcp","port_range_min":90,"port_range_max":80}`, 400, "80"},
		{"rule with a bad protocol", "POST", "/api/v1/security-groups/default/rules", `{"direction":"ingress","protocol":"sctp"}`, 400, "sctp"},
		{"rule with ports on icmp", "POST", "/api/v1/security-groups/default/rules", `{"direction":"ingress","protocol":"icmp","port_range_min":1,"port_range_max":2}`, 400, "icmp"},
		{"a floating IP on a network that is not external", "POST", "/api/v1/floating-ips", `{"network":"default"}`, 400, "not external"},
		{"a port forward to a missing port", "POST", "/api/v1/port-forwards", `{"port":"nope","protocol":"tcp","host_port":8099,"internal_port":80}`, 404, "nope"},
	}
	var nets []struct {
		Name   string `json:"name"`
		Subnet struct {
			Gateway string `json:"gateway"`
		} `json:"subnet"`
	}
	if err := c.Do("GET", "/api/v1/networks", nil, &nets); err != nil || len(nets) != 1 {
		t.Fatalf("networks %+v (%v)", nets, err)
	}
	for _, s := range steps {
		body := strings.ReplaceAll(s.body, "GATEWAY", nets[0].Subnet.Gateway)
		status, got := apiStatus(t, c, s.method, s.path, body)
		if status != s.status || !strings.Contains(got, s.want) {
			t.Errorf("%s: %d %s, want %d with %q", s.name, status, got, s.status, s.want)
		}
	}
	var ports []map[string]any
	if err := c.Do("GET", "/api/v1/ports", nil, &ports); err != nil || len(ports) != 1 {
		t.Errorf("ports after the bad input: %d (%v), want only p1", len(ports), err)
	}
}
