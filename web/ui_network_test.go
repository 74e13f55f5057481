package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cloudlet/appliance/network"
)

// networkNamed is the project's network called name, through the API as user.
func (f *authFixture) networkNamed(user, name string) network.Network {
	f.t.Helper()
	var ns []network.Network
	f.callAPI(user, "GET", "/api/v1/networks", "", 200, &ns)
	for _, n := range ns {
		if n.Name == name {
			return n
		}
	}
	f.t.Fatalf("%s sees no network %q", user, name)
	return network.Network{}
}

// memberPort makes a network and a port on it through the API, for the pages that use ports.
func (f *authFixture) memberPort(user, cidr string) network.Port {
	f.t.Helper()
	f.callAPI(user, "POST", "/api/v1/networks", `{"name":"lan","kind":"isolated","subnet":{"cidr":"`+cidr+`"}}`, 201, nil)
	var p network.Port
	f.callAPI(user, "POST", "/api/v1/ports", `{"name":"web","network":"lan"}`, 201, &p)
	return p
}

func TestDashboardNetworksCreateListDeleteAndRefuseABadCIDR(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/networks")
	bad := b.sendForm("/networks", "/networks", url.Values{"name": {"lan"}, "kind": {"isolated"}, "cidr": {"10.31.0.0/33"}, "dhcp": {"on"}})
	if bad.Code != http.StatusUnprocessableEntity || !strings.Contains(fieldError(t, bad.Body.String(), "nc-cidr"), "10.31.0.0/33") {
		t.Fatalf("a bad CIDR = %d, want 422 with the API's message on the CIDR field:\n%s", bad.Code, bad.Body)
	}
	wantRedirect(t, "create a network", b.sendForm("/networks", "/networks", url.Values{"name": {"lan"}, "kind": {"isolated"},
		"cidr": {"10.31.0.0/24"}, "dhcp": {"on"}}), "/networks")
	n := f.networkNamed("member", "lan")
	if n.Kind != "isolated" || n.Subnet.CIDR.String() != "10.31.0.0/24" || !n.Subnet.DHCP {
		t.Errorf("the form made %+v, want an isolated 10.31.0.0/24 with DHCP", n)
	}
	list := b.do("GET", "/networks", nil).Body.String()
	if !strings.Contains(list, `id="n-`+n.ID+`"`) || !strings.Contains(list, "<code>10.31.0.1</code>") ||
		!strings.Contains(list, `action="/networks/`+n.ID+`/delete"`) || !strings.Contains(list, "Delete network lan? Its subnet 10.31.0.0/24 goes with it.") {
		t.Errorf("the list does not show network lan, its gateway and a delete confirmation:\n%s", list)
	}
	wantRedirect(t, "delete", b.sendForm("/networks", "/networks/"+n.ID+"/delete", url.Values{}), "/networks")
	f.callAPI("member", "GET", "/api/v1/networks/"+n.ID, "", 404, nil)
}

func TestDashboardPortsCreateListAndDelete(t *testing.T) {
	f := newAuthFixture(t)
	f.callAPI("member", "POST", "/api/v1/networks", `{"name":"lan","kind":"isolated","subnet":{"cidr":"10.32.0.0/24"}}`, 201, nil)
	n := f.networkNamed("member", "lan")
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/ports")
	bad := b.sendForm("/ports", "/ports", url.Values{"name": {"db"}, "network": {n.ID}, "fixed_ip": {"10.32.9.5"}})
	if bad.Code < 400 || fieldError(t, bad.Body.String(), "pc-ip") == "" {
		t.Errorf("an address outside the subnet = %d, want the API's refusal on the fixed IP field", bad.Code)
	}
	wantRedirect(t, "create a port", b.sendForm("/ports", "/ports", url.Values{"name": {"db"}, "network": {n.ID}, "fixed_ip": {"10.32.0.50"}}), "/ports")
	var ports []network.Port
	f.callAPI("member", "GET", "/api/v1/ports", "", 200, &ports)
	if len(ports) != 1 || ports[0].Name != "db" || ports[0].FixedIPs[0].String() != "10.32.0.50" {
		t.Fatalf("ports after the form = %+v", ports)
	}
	list := b.do("GET", "/ports", nil).Body.String()
	if !strings.Contains(list, `id="p-`+ports[0].ID+`"`) || !strings.Contains(list, "<code>10.32.0.50</code>") {
		t.Errorf("the list does not show port db:\n%s", list)
	}
	wantRedirect(t, "delete", b.sendForm("/ports", "/ports/"+ports[0].ID+"/delete", url.Values{}), "/ports")
	f.callAPI("member", "GET", "/api/v1/ports/"+ports[0].ID, "", 404, nil)
}

func TestDashboardSecurityGroupRuleEditor(t *testing.T) {
	f := newAuthFixture(t)
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/security-groups")
	wantRedirect(t, "create a group", b.sendForm("/security-groups", "/security-groups", url.Values{"name": {"web"}}), "/security-groups")
	var g network.SecurityGroup
	f.callAPI("member", "GET", "/api/v1/security-groups/web", "", 200, &g)
	page := "/security-groups/" + g.ID

	bad := b.sendForm(page, page+"/rules", url.Values{"direction": {"ingress"}, "protocol": {"tcp"}, "port_min": {"22"}, "remote_cidr": {"10.0.0.300/8"}})
	if bad.Code != http.StatusUnprocessableEntity || !strings.Contains(fieldError(t, bad.Body.String(), "ra-cidr"), "10.0.0.300/8") {
		t.Fatalf("an invalid CIDR = %d, want 422 with the API's message on the CIDR field:\n%s", bad.Code, bad.Body)
	}
	if !strings.Contains(bad.Body.String(), `id="ra-port-min" name="port_min" inputmode="numeric" value="22"`) {
		t.Error("the refused rule form lost the port typed into it")
	}
	badPort := b.sendForm(page, page+"/rules", url.Values{"direction": {"ingress"}, "protocol": {"tcp"}, "port_min": {"ssh"}})
	if badPort.Code != http.StatusUnprocessableEntity || fieldError(t, badPort.Body.String(), "ra-port-min") == "" {
		t.Errorf("a port that is no number = %d, want 422 on the port field", badPort.Code)
	}

	wantRedirect(t, "add a rule", b.sendForm(page, page+"/rules", url.Values{"direction": {"ingress"}, "protocol": {"tcp"},
		"port_min": {"22"}, "remote_cidr": {"192.0.2.0/24"}}), page)
	f.callAPI("member", "GET", "/api/v1/security-groups/web", "", 200, &g)
	var added *network.Rule
	for i, r := range g.Rules {
		if r.PortMin == 22 && r.PortMax == 22 && r.RemoteCIDR.String() == "192.0.2.0/24" {
			added = &g.Rules[i]
		}
	}
	if added == nil {
		t.Fatalf("rules after the form = %+v, want tcp 22 from 192.0.2.0/24", g.Rules)
	}
	shown := b.do("GET", page, nil).Body.String()
	if !strings.Contains(shown, `id="r-`+added.ID+`"`) || !strings.Contains(shown, "<code>192.0.2.0/24</code>") {
		t.Errorf("the rules table does not show the rule:\n%s", shown)
	}
	wantRedirect(t, "delete the rule", b.sendForm(page, page+"/rules/"+added.ID+"/delete", url.Values{}), page)
	if strings.Contains(b.do("GET", page, nil).Body.String(), `id="r-`+added.ID+`"`) {
		t.Error("the deleted rule is still listed")
	}
}

func TestDashboardPortForwardsCreateListAndDelete(t *testing.T) {
	f := newAuthFixture(t)
	p := f.memberPort("member", "10.33.0.0/24")
	b := newBrowser(f)
	b.login("member", testUserPassword, "pa", "/port-forwards")
	bad := b.sendForm("/port-forwards", "/port-forwards", url.Values{"port": {p.ID}, "protocol": {"tcp"}, "host_port": {"http"}, "internal_port": {"80"}})
	if bad.Code != http.StatusUnprocessableEntity || fieldError(t, bad.Body.String(), "pfc-host-port") == "" {
		t.Errorf("a host port that is no number = %d, want 422 on the host port field:\n%s", bad.Code, bad.Body)
	}
	wantRedirect(t, "create a forward", b.sendForm("/port-forwards", "/port-forwards",
		url.Values{"port": {p.ID}, "protocol": {"tcp"}, "host_port": {"20080"}, "internal_port": {"80"}}), "/port-forwards")
	var pfs []network.PortForward
	f.callAPI("member", "GET", "/api/v1/port-forwards", "", 200, &pfs)
	if len(pfs) != 1 || pfs[0].HostPort != 20080 || pfs[0].InternalPort != 80 || pfs[0].PortID != p.ID {
		t.Fatalf("forwards after the form = %+v", pfs)
	}
	list := b.do("GET", "/port-forwards", nil).Body.String()
	if !strings.Contains(list, `id="pf-`+pfs[0].ID+`"`) || !strings.Contains(list, "web ("+p.FixedIPs[0].String()+")") {
		t.Errorf("the list does not show the forward to port web:\n%s", list)
	}
	wantRedirect(t, "delete", b.sendForm("/port-forwards", "/port-forwards/"+pfs[0].ID+"/delete", url.Values{}), "/port-forwards")
	f.callAPI("member", "GET", "/api/v1/port-forwards/"+pfs[0].ID, "", 404, nil)
}

func TestDashboardFloatingIPsAllocateAssociateAndRelease(t *testing.T) {
	f := newAuthFixture(t)
	f.callAPI("admin", "POST", "/api/v1/networks", `{"name":"wan","kind":"external","uplink":"eth9","subnet":{"cidr":"198.51.100.0/24"}}`, 201, nil)
	wan := f.networkNamed("admin", "wan")
	p := f.memberPort("admin", "10.34.0.0/24")
	b := newBrowser(f)
	b.login("admin", f.adminPassword, "admin", "/floating-ips")
	wantRedirect(t, "allocate", b.sendForm("/floating-ips", "/floating-ips", url.Values{"network": {wan.ID}}), "/floating-ips")
	var fips []network.FloatingIP
	f.callAPI("admin", "GET", "/api/v1/floating-ips", "", 200, &fips)
	if len(fips) != 1 || fips[0].PortID != "" {
		t.Fatalf("floating IPs after allocate = %+v", fips)
	}
	fip := fips[0]
	list := b.do("GET", "/floating-ips", nil).Body.String()
	if !strings.Contains(list, `id="f-`+fip.ID+`"`) || !strings.Contains(list, "<code>"+fip.IP.String()+"</code>") {
		t.Errorf("the list does not show the address:\n%s", list)
	}
	wantRedirect(t, "associate", b.sendForm("/floating-ips", "/floating-ips/"+fip.ID+"/associate", url.Values{"port": {p.ID}}), "/floating-ips")
	if !strings.Contains(b.do("GET", "/floating-ips", nil).Body.String(), "web ("+p.FixedIPs[0].String()+")") {
		t.Error("the list does not show the floating IP mapped to port web")
	}
	wantRedirect(t, "disassociate", b.sendForm("/floating-ips", "/floating-ips/"+fip.ID+"/disassociate", url.Values{}), "/floating-ips")
	f.callAPI("admin", "GET", "/api/v1/floating-ips/"+fip.ID, "", 200, &fip)
	if fip.PortID != "" {
		t.Errorf("after disassociate the floating IP maps to %s", fip.PortID)
	}
	wantRedirect(t, "release", b.sendForm("/floating-ips", "/floating-ips/"+fip.ID+"/delete", url.Values{}), "/floating-ips")
	f.callAPI("admin", "GET", "/api/v1/floating-ips/"+fip.ID, "", 404, nil)
}

func TestDashboardNetworkReaderSeesNoFormsAndIsRefused(t *testing.T) {
	f := newAuthFixture(t)
	p := f.memberPort("member", "10.35.0.0/24")
	b := newBrowser(f)
	b.login("reader", testUserPassword, "pa", "/networks")
	for _, page := range []string{"/networks", "/ports", "/security-groups", "/floating-ips", "/port-forwards"} {
		body := b.do("GET", page, nil).Body.String()
		if strings.Contains(body, `method="post" action="`+page) || strings.Contains(body, "/delete") {
			t.Errorf("a reader sees a form that changes things on %s", page)
		}
	}
	if !strings.Contains(b.do("GET", "/ports", nil).Body.String(), `id="p-`+p.ID+`"`) {
		t.Error("a reader does not see the project's port")
	}
	if rec := b.sendForm("/ports", "/ports/"+p.ID+"/delete", url.Values{}); rec.Code != http.StatusForbidden {
		t.Errorf("a reader's forced delete = %d, want the API's 403", rec.Code)
	}
}
