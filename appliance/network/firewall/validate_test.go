package firewall

import (
	"net/netip"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

func TestValidate(t *testing.T) {
	withRule := func(r Rule) Model {
		m := natDefault()
		m.SecurityGroups = append(m.SecurityGroups, SecurityGroup{ID: "sg", Rules: []Rule{r}})
		return m
	}
	fixedA := netip.MustParseAddr("10.88.0.10")
	tests := []struct {
		name string
		m    Model
		want string // substring of the error; "" = valid
	}{
		{"golden models are valid", natDefault(), ""},
		{"port 70000", withRule(Rule{Direction: Ingress, Protocol: TCP, PortMin: 70000, PortMax: 70000}), `rule 0 (ingress tcp): ports 70000-70000`},
		{"protocol gre", withRule(Rule{Direction: Ingress, Protocol: "gre"}), `protocol "gre" is not tcp, udp, icmp or any`},
		{"min above max", withRule(Rule{Direction: Egress, Protocol: UDP, PortMin: 90, PortMax: 80}), `ports 90-80: min is above max`},
		{"icmp with ports", withRule(Rule{Direction: Ingress, Protocol: ICMP, PortMin: 8, PortMax: 8}), `protocol icmp takes no ports`},
		{"bad direction", withRule(Rule{Direction: "inbound", Protocol: TCP}), `direction "inbound"`},
		{"unknown remote group", withRule(Rule{Direction: Ingress, Protocol: Any, RemoteGroup: "nope"}), `security group "sg" rule 0 (ingress any): unknown remote group "nope"`},
		{"CIDR with host bits", withRule(Rule{Direction: Ingress, Protocol: Any, RemoteCIDR: netip.MustParsePrefix("10.0.0.1/8")}), `10.0.0.1/8 has host bits set (did you mean 10.0.0.0/8?)`},
		{"IPv6 CIDR", withRule(Rule{Direction: Ingress, Protocol: Any, RemoteCIDR: netip.MustParsePrefix("2001:db8::/32")}), `is not IPv4`},
		{"CIDR and group", withRule(Rule{Direction: Ingress, Protocol: Any, RemoteGroup: "default", RemoteCIDR: netip.MustParsePrefix("10.0.0.0/8")}), `both remote CIDR`},
		{"duplicate port forward", func() Model {
			m := natDefault()
			m.PortForwards = []PortForward{
				{Protocol: TCP, HostPort: 8080, FixedIP: fixedA, Port: 80},
				{Protocol: TCP, HostPort: 8080, HostIP: netip.MustParseAddr("203.0.113.1"), FixedIP: fixedA, Port: 81},
			}
			return m
		}(), `port forward tcp 203.0.113.1:8080: conflicts with port forward tcp *:8080`},
		{"port forward bad ports", func() Model {
			m := natDefault()
			m.PortForwards = []PortForward{{Protocol: "sctp", HostPort: 0, FixedIP: fixedA, Port: 70000}}
			return m
		}(), `protocol "sctp" is not tcp or udp`},
		{"port forward to nobody", func() Model {
			m := natDefault()
			m.PortForwards = []PortForward{{Protocol: TCP, HostPort: 80, FixedIP: netip.MustParseAddr("10.88.0.99"), Port: 80}}
			return m
		}(), `fixed IP 10.88.0.99 belongs to no port`},
		{"floating IP not a host address", func() Model {
			m := natDefault()
			m.FloatingIPs = []FloatingIP{{IP: netip.MustParseAddr("127.0.0.1"), FixedIP: fixedA, Interface: "eth-up"}}
			return m
		}(), `floating IP 127.0.0.1: not an IPv4 host address`},
		{"two floating IPs on one fixed IP", func() Model {
			m := natDefault()
			m.FloatingIPs = []FloatingIP{
				{IP: netip.MustParseAddr("203.0.113.5"), FixedIP: fixedA, Interface: "eth-up"},
				{IP: netip.MustParseAddr("203.0.113.6"), FixedIP: fixedA, Interface: "eth-up"},
			}
			return m
		}(), `floating IP 203.0.113.6: fixed IP 10.88.0.10 already has a floating IP`},
		{"unknown port group", func() Model {
			m := natDefault()
			m.Ports[0].SecurityGroups = []string{"missing"}
			return m
		}(), `port "port-a": unknown security group "missing"`},
		{"port IP outside subnet", func() Model {
			m := natDefault()
			m.Ports[0].IPs = addrs("10.99.0.5")
			return m
		}(), `port "port-a": IP 10.99.0.5 is not a free host address of network "net-1"`},
		{"duplicate IP", func() Model {
			m := natDefault()
			m.Ports[1].IPs = addrs("10.88.0.10")
			return m
		}(), `port "port-b": IP 10.88.0.10 is also port "port-a"'s`},
		{"multicast MAC", func() Model {
			m := natDefault()
			m.Ports[0].MAC = mac("01:00:5e:00:00:01")
			return m
		}(), `port "port-a": MAC "01:00:5e:00:00:01" is not a unicast`},
		{"subnet with host bits", func() Model {
			m := natDefault()
			m.Networks[0].Subnet = netip.MustParsePrefix("10.88.0.1/24")
			return m
		}(), `network "net-1": subnet: 10.88.0.1/24 has host bits set`},
		{"bad tap name", func() Model {
			m := natDefault()
			m.Ports[0].Tap = "a-very-long-tap-name"
			return m
		}(), `port "port-a": tap: "a-very-long-tap-name" is not a valid interface name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			if k := fault.KindOf(err); k != fault.Invalid {
				t.Errorf("kind = %q, want %q", k, fault.Invalid)
			}
			if _, berr := Build(tt.m); berr == nil {
				t.Errorf("Build accepted a model Validate refuses")
			}
		})
	}
}
