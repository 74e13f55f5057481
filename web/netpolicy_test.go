package web

import (
	"encoding/json"
	"strings"
	"testing"
)

// The probe's findings on networks (issue 10) through the API, as a member and as an admin.

type policyCall struct {
	who, method, path, body string
	want                    int
	words                   []string
}

func (f *authFixture) run(calls []policyCall) {
	f.t.Helper()
	for _, c := range calls {
		rec := f.do(c.method, c.path, f.tokens[c.who], c.body)
		if rec.Code != c.want {
			f.t.Errorf("%s: %s %s %s = %d %s, want %d", c.who, c.method, c.path, c.body, rec.Code, rec.Body, c.want)
			continue
		}
		for _, w := range c.words {
			if !strings.Contains(rec.Body.String(), w) {
				f.t.Errorf("%s: %s %s %s: %s does not contain %q", c.who, c.method, c.path, c.body, rec.Body, w)
			}
		}
	}
}

// Finding 1: a member cannot put a network on the host's LAN or interfaces: external, bridged, a
// host bridge, an uplink (lo included) or sharing are 403 naming the admin-only action; an admin
// may, but never on the loopback.
func TestProbe01HostNetworkFieldsAreAdminOnly(t *testing.T) {
	f := newAuthFixture(t)
	ext := `{"name":"lan","external":true,"uplink":"eth0","subnet":{"cidr":"192.168.1.0/24","allocation_pools":[{"start":"192.168.1.200","end":"192.168.1.254"}]}}`
	f.run([]policyCall{
		{"member", "POST", "/api/v1/networks", ext, 403, []string{"network:create_external"}},
		{"member", "POST", "/api/v1/networks", `{"name":"x","kind":"external","uplink":"eth0","subnet":{"cidr":"10.4.0.0/24"}}`, 403, []string{"network:create_external"}},
		{"member", "POST", "/api/v1/networks", `{"name":"x","kind":"external","uplink":"lo","subnet":{"cidr":"10.4.0.0/24"}}`, 403, []string{"network:create_external"}},
		{"member", "POST", "/api/v1/networks", `{"name":"x","kind":"bridged","bridge":"vmbr0","subnet":{"cidr":"10.4.0.0/24"}}`, 403, []string{"network:create_bridged"}},
		{"member", "POST", "/api/v1/networks", `{"name":"x","bridge":"vmbr0","subnet":{"cidr":"10.4.0.0/24"}}`, 403, []string{"network:create_bridged"}},
		{"member", "POST", "/api/v1/networks", `{"name":"x","uplink":"lo","subnet":{"cidr":"10.4.0.0/24"}}`, 403, []string{"network:set_uplink"}},
		{"member", "POST", "/api/v1/networks", `{"name":"x","shared":true,"subnet":{"cidr":"10.4.0.0/24"}}`, 403, []string{"network:share"}},
		{"member", "GET", "/api/v1/networks", "", 200, []string{"[]"}},
		{"admin", "POST", "/api/v1/networks", `{"name":"x","external":true,"uplink":"lo","subnet":{"cidr":"198.51.100.0/24"}}`, 400, []string{"uplink lo"}},
		{"admin", "POST", "/api/v1/networks", `{"name":"x","uplink":"clbr-00000000","subnet":{"cidr":"10.4.0.0/24"}}`, 400, []string{"clbr-00000000"}},
		{"admin", "POST", "/api/v1/networks", ext, 201, []string{`"kind":"external"`, `"shared":false`}},
		{"admin", "POST", "/api/v1/networks", `{"name":"br","kind":"bridged","bridge":"vmbr0","subnet":{"cidr":"10.5.0.0/24"}}`, 201, []string{`"kind":"bridged"`}},
	})
}

// Finding 1: members take floating IPs from their own external networks and those an admin shared;
// another project's unshared one is 404 (not 403: its existence does not leak). Shared networks are
// listed to members, read-only.
func TestProbe01MembersTakeFloatingIPsOnlyFromSharedNetworks(t *testing.T) {
	f := newAuthFixture(t)
	f.run([]policyCall{
		{"admin", "POST", "/api/v1/networks", `{"name":"adminlan","external":true,"uplink":"eth0","subnet":{"cidr":"192.168.1.0/24"}}`, 201, nil},
		{"admin", "POST", "/api/v1/networks", `{"name":"public","external":true,"shared":true,"uplink":"eth1","subnet":{"cidr":"203.0.113.0/24"}}`, 201, []string{`"shared":true`}},
		{"member", "POST", "/api/v1/floating-ips", `{"network":"adminlan","floating_ip_address":"192.168.1.254"}`, 404, []string{"adminlan"}},
		{"member", "GET", "/api/v1/networks/adminlan", "", 404, nil},
		{"member", "POST", "/api/v1/floating-ips", `{"network":"public"}`, 201, []string{"203.0.113."}},
		{"memberb", "POST", "/api/v1/floating-ips", `{"network":"public"}`, 201, []string{"203.0.113."}},
		{"member", "GET", "/api/v1/networks/public", "", 200, []string{`"shared":true`}},
		{"member", "DELETE", "/api/v1/networks/public", "", 404, nil},
		{"member", "PATCH", "/api/v1/networks/public", `{"shared":false}`, 403, []string{"network:share"}},
		{"admin", "PATCH", "/api/v1/networks/adminlan", `{"shared":true}`, 200, []string{`"shared":true`}},
		{"member", "POST", "/api/v1/floating-ips", `{"network":"adminlan"}`, 201, []string{"192.168.1."}},
		{"admin", "PATCH", "/api/v1/networks/adminlan", `{"shared":false}`, 409, []string{"other projects"}},
	})
	rec := f.do("GET", "/api/v1/networks", f.tokens["member"], "")
	var nets []struct{ Name string }
	if err := json.Unmarshal(rec.Body.Bytes(), &nets); err != nil || len(nets) != 2 {
		t.Errorf("member lists %s (%v), want the shared adminlan and public", rec.Body, err)
	}
}

// Finding 2: every reserved subnet is 400 with a message (never 500), for members and admins; a
// member's public range is 403 naming the ranges members may use; an admin's is fine.
func TestProbe02NetworkSubnetsThatBreakTheHostAreRefused(t *testing.T) {
	f := newAuthFixture(t)
	var calls []policyCall
	for _, cidr := range []string{"127.0.0.0/24", "0.0.0.0/24", "169.254.1.0/24", "224.0.0.0/24", "240.0.0.0/24", "255.255.255.0/24"} {
		for _, who := range []string{"member", "admin"} {
			calls = append(calls, policyCall{who, "POST", "/api/v1/networks", `{"name":"x","subnet":{"cidr":"` + cidr + `"}}`, 400, []string{cidr}})
		}
		calls = append(calls, policyCall{"admin", "POST", "/api/v1/networks",
			`{"name":"x","external":true,"uplink":"eth0","subnet":{"cidr":"` + cidr + `"}}`, 400, []string{cidr}})
	}
	calls = append(calls,
		policyCall{"member", "POST", "/api/v1/networks", `{"name":"x","subnet":{"cidr":"8.8.8.0/24"}}`, 403, []string{"8.8.8.0/24", "192.168.0.0/16"}},
		policyCall{"member", "POST", "/api/v1/networks", `{"name":"x","subnet":{"cidr":"10.8.8.0/24"}}`, 201, nil},
		policyCall{"admin", "POST", "/api/v1/networks", `{"name":"y","subnet":{"cidr":"198.51.100.0/24"}}`, 201, nil},
	)
	f.run(calls)
}

// Finding 9: a member's forward on host port 22 (or any port outside the range) is 403 naming the
// range; one in the range works; an admin may take any free port.
func TestProbe09MemberForwardsStayInTheRange(t *testing.T) {
	f := newAuthFixture(t)
	f.run([]policyCall{
		{"member", "POST", "/api/v1/networks", `{"name":"lan","subnet":{"cidr":"10.1.2.0/24"}}`, 201, nil},
		{"member", "POST", "/api/v1/ports", `{"name":"web","network":"lan"}`, 201, nil},
		{"member", "POST", "/api/v1/port-forwards", `{"port":"web","protocol":"tcp","host_port":22,"internal_port":22}`, 403, []string{"22", "20000-29999"}},
		{"member", "POST", "/api/v1/port-forwards", `{"port":"web","protocol":"tcp","host_port":8080,"internal_port":80}`, 403, []string{"8080", "20000-29999"}},
		{"member", "POST", "/api/v1/port-forwards", `{"port":"web","protocol":"tcp","host_port":20080,"internal_port":80}`, 201, nil},
		{"admin", "POST", "/api/v1/networks", `{"name":"lan","subnet":{"cidr":"10.1.3.0/24"}}`, 201, nil},
		{"admin", "POST", "/api/v1/ports", `{"name":"web","network":"lan"}`, 201, nil},
		{"admin", "POST", "/api/v1/port-forwards", `{"port":"web","protocol":"tcp","host_port":2222,"internal_port":22}`, 201, nil},
		// Finding 14: the other project's forward is not described.
		{"admin", "POST", "/api/v1/port-forwards", `{"port":"web","protocol":"tcp","host_port":20080,"internal_port":80}`, 409, []string{"20080/tcp", "in use"}},
	})
	rec := f.do("POST", "/api/v1/port-forwards", f.tokens["admin"], `{"port":"web","protocol":"tcp","host_port":20080,"internal_port":80}`)
	if strings.Contains(rec.Body.String(), "10.1.2.") {
		t.Errorf("the conflict names the member's address: %s", rec.Body)
	}
}
