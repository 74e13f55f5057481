package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// neutronAnswer is a Neutron answer's parts the tests read.
type neutronAnswer struct {
	Network struct {
		ID, Name string
		Subnets  []string
	}
	Subnet struct {
		ID, Name, CIDR string
		NetworkID      string `json:"network_id"`
		GatewayIP      string `json:"gateway_ip"`
	}
	Port struct {
		ID, Name string
		FixedIPs []struct {
			IPAddress string `json:"ip_address"`
		} `json:"fixed_ips"`
		SecurityGroups []string `json:"security_groups"`
	}
	SecurityGroup struct {
		ID, Name, Description string
		Rules                 []struct{ ID string } `json:"security_group_rules"`
	} `json:"security_group"`
	Rule struct {
		ID, Protocol string
		PortMin      *int `json:"port_range_min"`
	} `json:"security_group_rule"`
	FloatingIP struct {
		ID      string
		Address string  `json:"floating_ip_address"`
		PortID  *string `json:"port_id"`
		FixedIP *string `json:"fixed_ip_address"`
	} `json:"floatingip"`
	NeutronError struct{ Type, Message string }
}

// neutron sends a Neutron request to /networking/v2.0 and decodes the answer, failing the test
// unless the status is want.
func (f *authFixture) neutron(method, path, token, body string, want int) neutronAnswer {
	f.t.Helper()
	rec := f.osDo(method, "/networking/v2.0"+path, token, body, "Content-Type", "application/json")
	var a neutronAnswer
	if rec.Code != want {
		f.t.Fatalf("%s %s %s = %d %s, want %d", method, path, body, rec.Code, rec.Body, want)
	}
	if rec.Code != http.StatusNoContent {
		decodeInto(f.t, rec, &a)
	}
	return a
}

// wantNeutronError checks a refusal's status and NeutronError type.
func wantNeutronError(t *testing.T, rec *httptest.ResponseRecorder, status int, typ string) {
	t.Helper()
	if rec.Code != status || !strings.Contains(rec.Body.String(), `"type":"`+typ+`"`) {
		t.Errorf("answer %d %s, want %d NeutronError %s", rec.Code, rec.Body, status, typ)
	}
}

func TestNeutronNetworkThenSubnetReaddressesTheNetworkAndDeletesBack(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	n := f.neutron("POST", "/networks", tok, `{"network":{"name":"n1","admin_state_up":true}}`, 201).Network
	if n.ID == "" || n.Name != "n1" || n.Subnets == nil || len(n.Subnets) != 0 {
		t.Fatalf("created network %+v: want n1 with subnets []", n)
	}
	var native struct {
		Subnet struct {
			CIDR, Name string
			Auto       bool
		}
	}
	decodeInto(t, f.do("GET", "/api/v1/networks/"+n.ID, tok, ""), &native)
	if !native.Subnet.Auto || native.Subnet.CIDR == "" {
		t.Fatalf("native network %+v: want an automatic range", native)
	}
	sn := f.neutron("POST", "/subnets", tok, `{"subnet":{"name":"s1","network_id":"`+n.ID+`","ip_version":4,"cidr":"10.77.0.0/24"}}`, 201).Subnet
	if sn.CIDR != "10.77.0.0/24" || sn.Name != "s1" || sn.NetworkID != n.ID || sn.GatewayIP != "10.77.0.1" {
		t.Errorf("created subnet %+v: want s1 10.77.0.0/24 gateway .1 on n1", sn)
	}
	native.Subnet.Auto = false // absent (omitempty) when false
	decodeInto(t, f.do("GET", "/api/v1/networks/"+n.ID, tok, ""), &native)
	if native.Subnet.Auto || native.Subnet.CIDR != "10.77.0.0/24" || native.Subnet.Name != "s1" {
		t.Errorf("native network after subnet create %+v: want 10.77.0.0/24 named s1", native)
	}
	if got := f.neutron("GET", "/networks/"+n.ID, tok, "", 200).Network; len(got.Subnets) != 1 || got.Subnets[0] != sn.ID {
		t.Errorf("network after subnet create %+v: want subnets [%s]", got, sn.ID)
	}
	other := f.neutron("POST", "/networks", tok, `{"network":{"name":"other"}}`, 201).Network
	overlap := f.osDo("POST", "/networking/v2.0/subnets", tok, `{"subnet":{"network_id":"`+other.ID+`","ip_version":4,"cidr":"10.77.0.0/28"}}`)
	if wantNeutronError(t, overlap, http.StatusBadRequest, "InvalidInput"); !strings.Contains(overlap.Body.String(), "overlaps with another subnet") {
		t.Errorf("an overlapping subnet: %s, want Neutron's words (tempest tries the next range on them)", overlap.Body)
	}
	second := f.osDo("POST", "/networking/v2.0/subnets", tok, `{"subnet":{"network_id":"`+n.ID+`","ip_version":4,"cidr":"10.78.0.0/24"}}`)
	wantNeutronError(t, second, http.StatusConflict, "SubnetInUse")
	if got := f.neutron("PUT", "/subnets/"+sn.ID, tok, `{"subnet":{"name":"s2"}}`, 200).Subnet; got.Name != "s2" || got.CIDR != "10.77.0.0/24" {
		t.Errorf("renamed subnet %+v", got)
	}
	if got := f.neutron("PUT", "/networks/"+n.ID, tok, `{"network":{"name":"n2"}}`, 200).Network; got.Name != "n2" {
		t.Errorf("renamed network %+v", got)
	}
	f.neutron("DELETE", "/subnets/"+sn.ID, tok, "", 204)
	wantNeutronError(t, f.osDo("GET", "/networking/v2.0/subnets/"+sn.ID, tok, ""), http.StatusNotFound, "SubnetNotFound")
	f.neutron("DELETE", "/networks/"+n.ID, tok, "", 204)
	wantNeutronError(t, f.osDo("GET", "/networking/v2.0/networks/"+n.ID, tok, ""), http.StatusNotFound, "NetworkNotFound")
}

func TestNeutronRefusesBadInputWithNeutronErrors(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	n := f.neutron("POST", "/networks", tok, `{"network":{"name":"n1"}}`, 201).Network
	for _, c := range []struct {
		method, path, body string
		status             int
		typ                string
	}{
		{"POST", "/networks", `{"network":{"name":"x","provider:network_type":"vlan"}}`, 400, "HTTPBadRequest"},
		{"POST", "/networks", `{"network":{"name":5}}`, 400, "HTTPBadRequest"},
		{"POST", "/networks", `{"network":{"name":"x","admin_state_up":false}}`, 400, "HTTPBadRequest"},
		{"POST", "/networks", `{"net":{}}`, 400, "HTTPBadRequest"},
		{"POST", "/networks", `{"network":{"name":"x","tenant_id":"another-project"}}`, 400, "HTTPBadRequest"},
		{"POST", "/security-groups", `{"security_group":{"name":"x","project_id":"another-project"}}`, 400, "HTTPBadRequest"},
		{"POST", "/subnets", `{"subnet":{"network_id":"` + n.ID + `","cidr":"10.1.2.3/33"}}`, 400, "InvalidInput"},
		{"POST", "/subnets", `{"subnet":{"network_id":"` + n.ID + `","cidr":"10.1.2.3/24"}}`, 400, "InvalidInput"},
		{"POST", "/subnets", `{"subnet":{"network_id":"` + n.ID + `","cidr":"fd00::/64","ip_version":6}}`, 400, "InvalidInput"},
		{"POST", "/subnets", `{"subnet":{"network_id":"n1","cidr":"10.1.2.0/24"}}`, 404, "NetworkNotFound"},
		{"DELETE", "/networks/n1", "", 404, "NetworkNotFound"},
		{"PUT", "/networks/n1", `{"network":{"name":"x"}}`, 404, "NetworkNotFound"},
		{"GET", "/ports/nothing", "", 404, "PortNotFound"},
		{"GET", "/security-groups/default", "", 404, "SecurityGroupNotFound"},
		{"GET", "/security-group-rules/nothing", "", 404, "SecurityGroupRuleNotFound"},
		{"GET", "/floatingips/nothing", "", 404, "FloatingIPNotFound"},
		{"GET", "/routers/nothing", "", 404, "RouterNotFound"},
		{"POST", "/routers", `{"router":{"name":"r"}}`, 400, "HTTPBadRequest"},
		{"GET", "/extensions/tag-ports-during-bulk-creation", "", 404, "ExtensionNotFound"},
	} {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			wantNeutronError(t, f.osDo(c.method, "/networking/v2.0"+c.path, tok, c.body), c.status, c.typ)
		})
	}
	if rec := f.osDo("GET", "/networking/v2.0/networks/"+n.ID, f.tokens["memberb"], ""); rec.Code != http.StatusNotFound {
		t.Errorf("another project's network: %d, want 404", rec.Code)
	}
	var shown struct {
		Network struct {
			ProjectID string `json:"project_id"`
		}
	}
	decodeInto(t, f.osDo("GET", "/networking/v2.0/networks/"+n.ID, tok, ""), &shown)
	f.neutron("POST", "/networks", tok, `{"network":{"name":"own","project_id":"`+shown.Network.ProjectID+`"}}`, 201)
	wantNeutronError(t, f.osDo("DELETE", "/networking/v2.0/networks/"+n.ID, f.tokens["memberb"], ""), http.StatusNotFound, "NetworkNotFound")
	wantNeutronError(t, f.osDo("POST", "/networking/v2.0/networks", f.tokens["reader"], `{"network":{"name":"r"}}`), http.StatusForbidden, "PolicyNotAuthorized")
	if rec := f.osDo("GET", "/networking/v2.0/networks", "", ""); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"error"`) {
		t.Errorf("no token: %d %s, want Keystone's 401", rec.Code, rec.Body)
	}
}

func TestNeutronInUseNetworkDeleteAndSubnetCreateAre409(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	n := f.neutron("POST", "/networks", tok, `{"network":{"name":"n1"}}`, 201).Network
	f.neutron("POST", "/ports", tok, `{"port":{"name":"p1","network_id":"`+n.ID+`"}}`, 201)
	wantNeutronError(t, f.osDo("DELETE", "/networking/v2.0/networks/"+n.ID, tok, ""), http.StatusConflict, "NetworkInUse")
	sub := f.osDo("POST", "/networking/v2.0/subnets", tok, `{"subnet":{"network_id":"`+n.ID+`","cidr":"10.79.0.0/24"}}`)
	wantNeutronError(t, sub, http.StatusConflict, "SubnetInUse")
}

func TestNeutronPortsFilterByNetworkAddressAndGroupAndUpdate(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	n := f.neutron("POST", "/networks", tok, `{"network":{"name":"n1"}}`, 201).Network
	other := f.neutron("POST", "/networks", tok, `{"network":{"name":"n2"}}`, 201).Network
	g := f.neutron("POST", "/security-groups", tok, `{"security_group":{"name":"g1","description":"web"}}`, 201).SecurityGroup
	p := f.neutron("POST", "/ports", tok, `{"port":{"name":"p1","network_id":"`+n.ID+`","security_groups":["`+g.ID+`"]}}`, 201).Port
	f.neutron("POST", "/ports", tok, `{"port":{"name":"p2","network_id":"`+other.ID+`"}}`, 201)
	if len(p.FixedIPs) != 1 || len(p.SecurityGroups) != 1 || p.SecurityGroups[0] != g.ID {
		t.Fatalf("created port %+v: want one address and group g1", p)
	}
	for _, q := range []string{"network_id=" + n.ID, "fixed_ips=ip_address%3D" + p.FixedIPs[0].IPAddress + "&network_id=" + n.ID,
		"security_groups=" + g.ID, "name=p1", "device_id=&network_id=" + n.ID} {
		var list struct{ Ports []struct{ ID string } }
		decodeInto(t, f.osDo("GET", "/networking/v2.0/ports?"+q, tok, ""), &list)
		if len(list.Ports) != 1 || list.Ports[0].ID != p.ID {
			t.Errorf("ports?%s = %+v, want p1 alone", q, list.Ports)
		}
	}
	up := f.neutron("PUT", "/ports/"+p.ID, tok, `{"port":{"name":"web","security_groups":[]}}`, 200).Port
	if up.Name != "web" || len(up.SecurityGroups) != 0 {
		t.Errorf("updated port %+v: want web without groups", up)
	}
	wantNeutronError(t, f.osDo("PUT", "/networking/v2.0/ports/"+p.ID, tok, `{"port":{"mac_address":"fa:16:3e:00:00:01"}}`), 400, "HTTPBadRequest")
	wantNeutronError(t, f.osDo("DELETE", "/networking/v2.0/ports/web", tok, ""), 404, "PortNotFound")
	f.neutron("DELETE", "/ports/"+p.ID, tok, "", 204)
	wantNeutronError(t, f.osDo("GET", "/networking/v2.0/ports/"+p.ID, tok, ""), 404, "PortNotFound")
}

func TestNeutronSecurityGroupsAndRulesRoundTrip(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	g := f.neutron("POST", "/security-groups", tok, `{"security_group":{"name":"g1","description":"d"}}`, 201).SecurityGroup
	if g.Rules == nil || g.Name != "g1" {
		t.Fatalf("created group %+v: want g1 with a rules list", g)
	}
	r := f.neutron("POST", "/security-group-rules", tok, `{"security_group_rule":{"security_group_id":"`+g.ID+
		`","direction":"ingress","ethertype":"IPv4","protocol":"tcp","port_range_min":22,"port_range_max":22,"remote_ip_prefix":"0.0.0.0/0"}}`, 201).Rule
	if r.ID == "" || r.Protocol != "tcp" || r.PortMin == nil || *r.PortMin != 22 {
		t.Fatalf("created rule %+v", r)
	}
	var list struct {
		Rules []struct{ ID string } `json:"security_group_rules"`
	}
	decodeInto(t, f.osDo("GET", "/networking/v2.0/security-group-rules?security_group_id="+g.ID, tok, ""), &list)
	if len(list.Rules) != 1 || list.Rules[0].ID != r.ID {
		t.Errorf("rules of g1 = %+v, want the one rule", list.Rules)
	}
	f.neutron("GET", "/security-group-rules/"+r.ID, tok, "", 200)
	up := f.neutron("PUT", "/security-groups/"+g.ID, tok, `{"security_group":{"name":"web","description":"http"}}`, 200).SecurityGroup
	if up.Name != "web" || up.Description != "http" || len(up.Rules) != 1 {
		t.Errorf("updated group %+v: want web, http, its rule", up)
	}
	for _, bad := range []string{`"protocol":"gre"`, `"ethertype":"IPv6"`, `"remote_ip_prefix":"nope"`, `"description":"ssh"`} {
		rec := f.osDo("POST", "/networking/v2.0/security-group-rules", tok, `{"security_group_rule":{"security_group_id":"`+g.ID+`","direction":"ingress",`+bad+`}}`)
		wantNeutronError(t, rec, 400, "InvalidInput")
	}
	f.neutron("DELETE", "/security-group-rules/"+r.ID, tok, "", 204)
	f.neutron("DELETE", "/security-groups/"+g.ID, tok, "", 204)
	wantNeutronError(t, f.osDo("GET", "/networking/v2.0/security-groups/"+g.ID, tok, ""), 404, "SecurityGroupNotFound")
}

func TestNeutronFloatingIPAssociatesAndDisassociates(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	var ext struct{ ID string }
	decodeInto(t, f.do("POST", "/api/v1/networks", f.tokens["admin"], `{"name":"public","external":true,"shared":true,"uplink":"eth9",`+
		`"subnet":{"cidr":"198.51.100.0/24","allocation_pools":[{"start":"198.51.100.10","end":"198.51.100.20"}]}}`), &ext)
	if ext.ID == "" {
		t.Fatal("external network not created")
	}
	n := f.neutron("POST", "/networks", tok, `{"network":{"name":"n1"}}`, 201).Network
	p := f.neutron("POST", "/ports", tok, `{"port":{"name":"p1","network_id":"`+n.ID+`"}}`, 201).Port
	fip := f.neutron("POST", "/floatingips", tok, `{"floatingip":{"floating_network_id":"`+ext.ID+`"}}`, 201).FloatingIP
	if fip.Address != "198.51.100.10" || fip.PortID != nil {
		t.Fatalf("created floating IP %+v: want 198.51.100.10, port_id null", fip)
	}
	var list struct {
		FloatingIPs []struct{ ID string } `json:"floatingips"`
	}
	decodeInto(t, f.osDo("GET", "/networking/v2.0/floatingips?floating_ip_address=198.51.100.10", tok, ""), &list)
	if len(list.FloatingIPs) != 1 || list.FloatingIPs[0].ID != fip.ID {
		t.Errorf("floatingips?floating_ip_address= %+v, want the one", list.FloatingIPs)
	}
	set := f.neutron("PUT", "/floatingips/"+fip.ID, tok, `{"floatingip":{"port_id":"`+p.ID+`"}}`, 200).FloatingIP
	if set.PortID == nil || *set.PortID != p.ID || set.FixedIP == nil || *set.FixedIP != p.FixedIPs[0].IPAddress {
		t.Errorf("associated floating IP %+v: want on %s (%s)", set, p.ID, p.FixedIPs[0].IPAddress)
	}
	wantNeutronError(t, f.osDo("PUT", "/networking/v2.0/floatingips/"+fip.ID, tok, `{"floatingip":{"port_id":"p1"}}`), 404, "PortNotFound")
	if unset := f.neutron("PUT", "/floatingips/"+fip.ID, tok, `{"floatingip":{"port_id":null}}`, 200).FloatingIP; unset.PortID != nil {
		t.Errorf("disassociated floating IP %+v: want port_id null", unset)
	}
	wantNeutronError(t, f.osDo("GET", "/networking/v2.0/floatingips/198.51.100.10", tok, ""), 404, "FloatingIPNotFound")
	f.neutron("DELETE", "/floatingips/"+fip.ID, tok, "", 204)
	wantNeutronError(t, f.osDo("GET", "/networking/v2.0/floatingips/"+fip.ID, tok, ""), 404, "FloatingIPNotFound")
}

func TestNeutronExtensionsRoutersAndResourcesDocument(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	rec := f.osDo("GET", "/networking/v2.0/extensions", tok, "")
	for _, alias := range []string{"security-group", "external-net", "router", "quotas", "port-security", "standard-attr-description"} {
		if !strings.Contains(rec.Body.String(), `"alias":"`+alias+`"`) {
			t.Errorf("extensions lack %s: %s", alias, rec.Body)
		}
		f.neutron("GET", "/extensions/"+alias, tok, "", 200)
	}
	rec = f.osDo("GET", "/networking/v2.0/", tok, "")
	for _, c := range []string{"networks", "subnets", "ports", "security-groups", "security-group-rules", "floatingips", "routers"} {
		if !strings.Contains(rec.Body.String(), `"collection":"`+c+`"`) {
			t.Errorf("resources document lacks %s: %s", c, rec.Body)
		}
	}
	n := f.neutron("POST", "/networks", tok, `{"network":{"name":"n1"}}`, 201).Network
	var routers struct {
		Routers []struct {
			ID, Name string
			Gateway  any `json:"external_gateway_info"`
		}
	}
	decodeInto(t, f.osDo("GET", "/networking/v2.0/routers?name=n1", tok, ""), &routers)
	if len(routers.Routers) != 1 || routers.Routers[0].Name != "n1" {
		t.Fatalf("routers?name=n1 = %+v, want n1's router", routers.Routers)
	}
	f.neutron("GET", "/routers/"+routers.Routers[0].ID, tok, "", 200)
	_ = n
}

func TestNeutronFieldsCutListsAndShowsToTheAttributesAsked(t *testing.T) {
	f := newAuthFixture(t)
	tok := f.tokens["member"]
	n := f.neutron("POST", "/networks", tok, `{"network":{"name":"n1"}}`, 201).Network
	for _, path := range []string{"/networks?name=n1&fields=id&fields=name", "/networks/" + n.ID + "?fields=id&fields=name"} {
		rec := f.osDo("GET", "/networking/v2.0"+path, tok, "")
		var body map[string]any
		decodeInto(t, rec, &body)
		item, _ := body["network"].(map[string]any)
		if list, ok := body["networks"].([]any); ok && len(list) == 1 {
			item, _ = list[0].(map[string]any)
		}
		if len(item) != 2 || item["id"] != n.ID || item["name"] != "n1" {
			t.Errorf("GET %s = %s, want only id and name", path, rec.Body)
		}
	}
}
