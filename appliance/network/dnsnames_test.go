package network

import (
	"net"
	"testing"
)

// Names are DNS labels in lower case with '-' for '_', matched without regard to case as DNS does:
// port "Web" of network "Lab_1" answers web.lab-1.cloudlet. and WEB.Lab-1.cloudlet.; its DHCP
// hostname is "web".
func TestDNSNamesAndDHCPHostnamesIgnoreCase(t *testing.T) {
	s := newService(t)
	n, err := s.CreateNetwork(ctx, proj, CreateNetworkRequest{Name: "Lab_1", Subnet: subnet("10.1.3.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreatePort(ctx, proj, CreatePortRequest{Name: "Web", Network: n.ID})
	if err != nil {
		t.Fatal(err)
	}
	s.dp = &datapath{o: DatapathOptions{Domain: "cloudlet"}}
	for _, q := range []string{"web.lab-1.cloudlet.", "WEB.Lab-1.cloudlet.", "Web.LAB-1.cloudlet."} {
		if addrs, ok := s.dnsLookup(q); !ok || len(addrs) != 1 || addrs[0] != p.FixedIPs[0] {
			t.Errorf("dnsLookup(%q) = %v %v, want %s", q, addrs, ok, p.FixedIPs[0])
		}
	}
	mac, _ := net.ParseMAC(p.MAC)
	if res, ok := s.dhcpLookup(n.ID)(mac); !ok || res.Hostname != "web" {
		t.Errorf("DHCP reservation of port Web = %+v %v, want hostname web", res, ok)
	}
}
