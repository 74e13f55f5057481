package e2e

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The probe's network attacks of issue 10 (findings 1, 2, 9 and 14), done by members against the
// real daemon in its namespace, where uplink0 (203.0.113.1/24, a veth to the outer namespace) plays
// the host's LAN interface. Each attack is refused without harm: no external, bridged or uplinked
// network for a member, no network on the loopback (the host's 127.0.0.2 still answers), no
// floating IP from another project's unshared external network (404), no forward of host port 22;
// a forward in the members' range works, and conflicts with the other project's resources do not
// describe them.
func TestProbe01MemberNetworkAttacksOnTheHost(t *testing.T) {
	newOuter(t)
	d := NewDaemon(t, cloudletBin)
	d.Start(t, "--config", writeFile(t, "cloudlet.json", `{"trust_loopback": false}`))
	d.WaitReady(t)
	m := newMembers(t, d)
	loopback := listenOn(t, "127.0.0.2:0")

	m.want("probe 01: external network on the host's LAN interface", "pa", "POST", "/api/v1/networks",
		`{"name":"lan","external":true,"uplink":"uplink0","subnet":{"cidr":"203.0.113.0/24","allocation_pools":[{"start":"203.0.113.254","end":"203.0.113.254"}]}}`,
		403, "network:create_external")
	m.want("probe 01: uplink lo", "pa", "POST", "/api/v1/networks", `{"name":"x","uplink":"lo","subnet":{"cidr":"10.60.0.0/24"}}`, 403, "network:set_uplink")
	m.want("probe 01: admin external network on lo", "admin", "POST", "/api/v1/networks",
		`{"name":"x","external":true,"uplink":"lo","subnet":{"cidr":"198.51.100.0/24"}}`, 400, "uplink lo")
	m.want("probe 01: kind bridged onto a host bridge", "pa", "POST", "/api/v1/networks",
		`{"name":"x","kind":"bridged","bridge":"uplink0","subnet":{"cidr":"10.60.0.0/24"}}`, 403, "network:create_bridged")
	m.want("probe 02: network on 127.0.0.0/24", "pa", "POST", "/api/v1/networks", `{"name":"lo","subnet":{"cidr":"127.0.0.0/24"}}`, 400, "127.0.0.0/24")
	m.want("probe 02: network on 224.0.0.0/24", "pa", "POST", "/api/v1/networks", `{"name":"mc","subnet":{"cidr":"224.0.0.0/24"}}`, 400, "multicast")
	if err := dialOnce(loopback); err != nil {
		t.Errorf("probe 02: the host's loopback %s after the attempts: %v", loopback, err)
	}

	m.want("admin's unshared external network", "admin", "POST", "/api/v1/networks",
		`{"name":"adminlan","external":true,"uplink":"uplink0","subnet":{"cidr":"203.0.113.0/24","gateway":"203.0.113.2","allocation_pools":[{"start":"203.0.113.200","end":"203.0.113.254"}]}}`,
		201, `"shared":false`)
	m.want("probe 01: floating IP from another project's external network", "pb", "POST", "/api/v1/floating-ips",
		`{"network":"adminlan","floating_ip_address":"203.0.113.254"}`, 404, "adminlan")
	m.want("admin shares it", "admin", "PATCH", "/api/v1/networks/adminlan", `{"shared":true}`, 200, `"shared":true`)
	m.want("floating IP from the shared network", "pb", "POST", "/api/v1/floating-ips", `{"network":"adminlan"}`, 201, "203.0.113.200")

	m.want("member network", "pa", "POST", "/api/v1/networks", `{"name":"lan","subnet":{"cidr":"10.61.0.0/24"}}`, 201, "")
	m.want("member port", "pa", "POST", "/api/v1/ports", `{"name":"web","network":"lan","fixed_ip":"10.61.0.5"}`, 201, "")
	m.want("probe 09: forward of host port 22", "pa", "POST", "/api/v1/port-forwards",
		`{"port":"web","protocol":"tcp","host_port":22,"internal_port":22}`, 403, "20000-29999")
	m.want("probe 09: a forward in the range", "pa", "POST", "/api/v1/port-forwards",
		`{"port":"web","protocol":"tcp","host_port":20022,"internal_port":22}`, 201, `"host_port":20022`)
	if rules := iptablesSave(t); !strings.Contains(rules, "--dport 20022 -j DNAT --to-destination 10.61.0.5:22") {
		t.Errorf("probe 09: no DNAT of 20022 to web in the rules:\n%s", rules)
	}

	m.want("pb's network", "pb", "POST", "/api/v1/networks", `{"name":"lanb","subnet":{"cidr":"10.62.0.0/24"}}`, 201, "")
	m.want("pb's port", "pb", "POST", "/api/v1/ports", `{"name":"app","network":"lanb"}`, 201, "")
	for _, body := range []string{
		m.want("probe 14: a subnet over pa's", "pb", "POST", "/api/v1/networks", `{"name":"over","subnet":{"cidr":"10.61.0.0/16"}}`, 409, "another network"),
		m.want("probe 14: pa's host port", "pb", "POST", "/api/v1/port-forwards", `{"port":"app","protocol":"tcp","host_port":20022,"internal_port":80}`, 409, "in use"),
	} {
		for _, theirs := range []string{`"lan"`, " lan ", "web", "10.61.0.5", "10.61.0.0/24"} {
			if strings.Contains(body, theirs) {
				t.Errorf("probe 14: pb's conflict %s names pa's %s", body, theirs)
			}
		}
	}
}

// members is a daemon with projects pa and pb, each with one member (ua, ub), and their tokens.
type members struct {
	t      *testing.T
	base   string
	tokens map[string]string // "admin", "pa", "pb"
}

func newMembers(t *testing.T, d *Daemon) *members {
	t.Helper()
	api := httpAPI{t: t, base: "http://" + d.Listen}
	admin := d.AdminToken(t)
	m := &members{t: t, base: api.base, tokens: map[string]string{"admin": admin}}
	const password = "member-pw-5c1e-quiet"
	for _, p := range []string{"pa", "pb"} {
		m.tokens[p] = api.addMember(admin, p, "u"+p[1:], password)
	}
	return m
}

// want sends body as who and checks the status and that the answer contains word; it returns the
// answer.
func (m *members) want(what, who, method, path, body string, status int, word string) string {
	m.t.Helper()
	req, err := http.NewRequest(method, m.base+path, bytes.NewBufferString(body))
	if err != nil {
		m.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+m.tokens[who])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatalf("%s: %v", what, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != status || !strings.Contains(buf.String(), word) {
		m.t.Errorf("%s: %s %s as %s = %d %s, want %d with %q", what, method, path, who, resp.StatusCode, buf.String(), status, word)
	}
	if status >= 400 && !json.Valid(buf.Bytes()) {
		m.t.Errorf("%s: the refusal is not JSON: %s", what, buf.String())
	}
	return buf.String()
}

// listenOn accepts (and closes) connections on addr until the test ends; it returns the address.
func listenOn(t *testing.T, addr string) string {
	t.Helper()
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l.Addr().String()
}

func dialOnce(addr string) error {
	c, err := net.DialTimeout("tcp4", addr, 2*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}
