package network

import (
	"fmt"
	"sync"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// fakeQuota applies fixed limits the way identity does; a resource it does not list is unlimited.
type fakeQuota map[string]int64

func (q fakeQuota) Check(_ *store.Tx, _, resource string, inUse, requested int64) error {
	limit, ok := q[resource]
	if !ok || requested <= 0 || inUse+requested <= limit {
		return nil
	}
	return fault.New(fault.Quota, "quota exceeded for %s: limit %d, in use %d, requested %d", resource, limit, inUse, requested)
}

func TestQuotasRefuseCreatesBeyondTheLimitNamingIt(t *testing.T) {
	s := newService(t, "203.0.113.0/24")
	s.quota = fakeQuota{QuotaNetworks: 2, QuotaPorts: 2, QuotaFloatingIPs: 1, QuotaSecurityGroups: 2, QuotaSecurityGroupRules: 3}
	must1(s.CreateNetwork(ctx, proj, publicRequest()))
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "lan", Subnet: subnet("10.1.2.0/24")}))
	_, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "lan2", Subnet: subnet("10.1.3.0/24")})
	wantFault(t, "third network", err, fault.Quota, "quota exceeded for networks: limit 2, in use 2, requested 1")

	must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "web", Network: "lan"}))
	must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "db", Network: "lan"}))
	_, err = s.CreatePort(ctx, proj, CreatePortRequest{Name: "cache", Network: "lan"})
	wantFault(t, "third port", err, fault.Quota, "quota exceeded for ports: limit 2, in use 2, requested 1")
	// Ports compute makes for instances count the same.
	_, err = s.CreatePort(ctx, proj, CreatePortRequest{Name: "vm", Network: "lan", Instance: "i1"})
	wantFault(t, "instance port", err, fault.Quota, "ports: limit 2, in use 2")

	must1(s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public"}))
	_, err = s.CreateFloatingIP(ctx, proj, CreateFloatingIPRequest{Network: "public"})
	wantFault(t, "second floating IP", err, fault.Quota, "floating_ips: limit 1, in use 1, requested 1")

	// The default group (made with the first port) counts, with its two rules.
	must1(s.CreateSecurityGroup(ctx, proj, "ssh", ""))
	_, err = s.CreateSecurityGroup(ctx, proj, "http", "")
	wantFault(t, "third security group", err, fault.Quota, "security_groups: limit 2, in use 2, requested 1")
	must1(s.AddRule(ctx, proj, "ssh", Rule{Direction: "ingress", Protocol: "tcp", PortMin: 22, PortMax: 22}))
	_, err = s.AddRule(ctx, proj, "ssh", Rule{Direction: "ingress", Protocol: "tcp", PortMin: 80, PortMax: 80})
	wantFault(t, "fourth rule", err, fault.Quota, "security_group_rules: limit 3, in use 3, requested 1")

	u := must1(s.Usage(ctx, proj))
	want := map[string]int64{QuotaNetworks: 2, QuotaPorts: 2, QuotaFloatingIPs: 1, QuotaSecurityGroups: 2, QuotaSecurityGroupRules: 3}
	if fmt.Sprint(u) != fmt.Sprint(want) {
		t.Errorf("Usage = %v, want %v", u, want)
	}
	if u := must1(s.Usage(ctx, "p2")); u[QuotaPorts] != 0 || u[QuotaNetworks] != 0 {
		t.Errorf("Usage of another project = %v, want nothing", u)
	}

	// Deleting frees at once: usage is counted, not kept.
	if err := s.DeletePort(ctx, proj, "db"); err != nil {
		t.Fatal(err)
	}
	must1(s.CreatePort(ctx, proj, CreatePortRequest{Name: "cache", Network: "lan"}))
	// Another project has its own room.
	must1(s.CreateNetwork(ctx, "p2", CreateNetworkRequest{Name: "lan", Subnet: subnet("10.1.4.0/24")}))
}

// TestConcurrentCreatesNeverExceedAQuota races 1000 port creates against a limit of 37: the count,
// the check and the create share one write transaction, so exactly 37 are made and every other
// create is refused with the quota named, whatever the interleaving.
func TestConcurrentCreatesNeverExceedAQuota(t *testing.T) {
	const creates, limit = 1000, 37
	s := newService(t)
	s.quota = fakeQuota{QuotaPorts: limit}
	must1(s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "lan", Subnet: subnet("10.1.0.0/16")}))
	var wg sync.WaitGroup
	errs := make([]error, creates)
	for i := range creates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.CreatePort(ctx, proj, CreatePortRequest{Name: fmt.Sprintf("p%d", i), Network: "lan"})
		}()
	}
	wg.Wait()
	made := 0
	for _, err := range errs {
		switch {
		case err == nil:
			made++
		case fault.KindOf(err) != fault.Quota:
			t.Errorf("a create failed for another reason than the quota: %v", err)
		}
	}
	list := must1(s.Ports(ctx, proj))
	if made != limit || len(list) != limit {
		t.Errorf("%d creates succeeded and %d ports exist, want %d", made, len(list), limit)
	}
}
