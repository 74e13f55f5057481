package e2e

import (
	"strings"
	"testing"

	"cloudlet/appliance/compute"
)

// Security groups between real guests on one network: with the default group, A (a member) reaches B;
// C, in a group of its own, does not; an ingress rule for tcp/80 opens exactly that port to C, not
// another one B listens on. Guests also find each other by name through cloudlet's DNS.
func TestSecurityGroupsBetweenGuests(t *testing.T) {
	c := newCloud(t, "")
	if err := c.Do("POST", "/api/v1/networks", map[string]any{"name": "lan", "subnet": map[string]any{"cidr": "10.61.0.0/24", "dhcp": true}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do("POST", "/api/v1/security-groups", map[string]any{"name": "outsider"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Do("POST", "/api/v1/security-groups/outsider/rules", map[string]any{"direction": "egress", "protocol": "any"}, nil); err != nil {
		t.Fatal(err)
	}
	onLan := map[string]any{"networks": []string{"lan"}}
	a, b := c.Create("a", kernelImage, onLan), c.Create("b", kernelImage, onLan)
	cc := c.Create("c", kernelImage, map[string]any{"networks": []string{"lan"}, "security_groups": []string{"outsider"}})
	shells := map[string]*shell{}
	ips := map[string]string{}
	for _, inst := range []compute.Instance{a, b, cc} {
		c.WaitConsole(inst.ID, ready, 1, bootWait)
		shells[inst.Name] = c.shell(inst.ID, inst.Name)
		ips[inst.Name] = c.Show(inst.ID).Addresses[0].IP
	}
	if out, rc := shells["b"].run("httpd -p 8081 -h /www"); rc != 0 {
		t.Fatalf("b: second httpd: rc %d %s", rc, out)
	}

	out, rc := shells["a"].run("nslookup b.lan.cloudlet")
	if rc != 0 || !strings.Contains(out, ips["b"]) {
		t.Errorf("a: nslookup b.lan.cloudlet = rc %d %q, want b's address %s", rc, out, ips["b"])
	}
	if body, ok := shells["a"].fetch("http://b.lan.cloudlet/"); !ok || !strings.Contains(body, "cloudlet-testguest") {
		t.Errorf("a (default group) could not reach b by name: %q", body)
	}
	if body, ok := shells["c"].fetch("http://" + ips["b"] + "/"); ok {
		t.Errorf("c (outside the default group) reached b: %q", body)
	}

	if err := c.Do("POST", "/api/v1/security-groups/default/rules", map[string]any{"direction": "ingress", "protocol": "tcp",
		"port_range_min": 80, "port_range_max": 80}, nil); err != nil {
		t.Fatal(err)
	}
	if body, ok := shells["c"].fetch("http://" + ips["b"] + "/"); !ok || !strings.Contains(body, "cloudlet-testguest") {
		t.Errorf("c could not reach b:80 after the ingress rule for tcp/80: %q", body)
	}
	if body, ok := shells["c"].fetch("http://" + ips["b"] + ":8081/"); ok {
		t.Errorf("c reached b:8081, which no rule opens: %q", body)
	}
	if body, ok := shells["a"].fetch("http://" + ips["b"] + ":8081/"); !ok {
		t.Errorf("a (a member) could not reach b:8081: %q", body)
	}

	// Moving c's port into the default group (a live port update) lets it in like a member.
	if err := c.Do("PUT", "/api/v1/ports/c", map[string]any{"security_groups": []string{"default", "outsider"}}, nil); err != nil {
		t.Fatal(err)
	}
	if body, ok := shells["c"].fetch("http://" + ips["b"] + ":8081/"); !ok {
		t.Errorf("c, now in the default group, could not reach b:8081: %q", body)
	}

	// A daemon restart (kill -9) rebuilds the same rules; guests keep their addresses through a renewal.
	rules := cloudletRules(t)
	c.D.Kill()
	c.D.Start(t)
	c.D.WaitReady(t)
	if after := cloudletRules(t); after != rules {
		t.Errorf("rules after a restart differ:\n%s\nbefore:\n%s", after, rules)
	}
	shells["a"] = c.shell(a.ID, "a") // the serial console is the daemon's: the shell opened before the kill ended with it
	if out, rc := shells["a"].run("kill -USR1 $(pidof udhcpc) && sleep 3 && ip -4 -o addr show dev eth0"); rc != 0 || !strings.Contains(out, " "+ips["a"]+"/24") {
		t.Errorf("a after a DHCP renewal with the restarted daemon: rc %d %q, want %s", rc, out, ips["a"])
	}
	if body, ok := shells["a"].fetch("http://b.lan.cloudlet/"); !ok || !strings.Contains(body, "cloudlet-testguest") {
		t.Errorf("after a restart a could not reach b by name: %q", body)
	}

	status, body := apiStatus(t, c, "POST", "/api/v1/instances", `{"name":"x","image":"tg","flavor":"m1.tiny","networks":["lan"],"security_groups":["nope"]}`)
	if status != 400 || !strings.Contains(body, "nope") {
		t.Errorf("unknown security group: %d %s", status, body)
	}
	status, body = apiStatus(t, c, "POST", "/api/v1/instances", `{"name":"x","image":"tg","flavor":"m1.tiny","networks":[],"security_groups":["outsider"]}`)
	if status != 400 || !strings.Contains(body, "network") {
		t.Errorf("security groups without a network: %d %s", status, body)
	}
}
