package main

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"cloudlet/appliance/network"
)

func newNetworkCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "network", Short: "tenant networks: a bridge, DHCP and DNS per network"}
	cmd.AddCommand(newNetworkCreateCmd(g), newNetworkSetCmd(g),
		&cobra.Command{Use: "list", Short: "list networks", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				var out []*network.Network
				if err := g.call("GET", "/api/v1/networks", nil, &out); err != nil {
					return err
				}
				rows := make([][]string, 0, len(out))
				for _, n := range out {
					rows = append(rows, networkRow(n))
				}
				return g.print(out, networkHeader, rows)
			}},
		&cobra.Command{Use: "show NETWORK", Short: "show one network", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				var n network.Network
				if err := g.call("GET", "/api/v1/networks/"+url.PathEscape(a[0]), nil, &n); err != nil {
					return err
				}
				return g.print(n, networkHeader, [][]string{networkRow(&n)})
			}},
		&cobra.Command{Use: "delete NETWORK", Short: "delete a network without ports", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				return g.call("DELETE", "/api/v1/networks/"+url.PathEscape(a[0]), nil, nil)
			}})
	return cmd
}

func newNetworkCreateCmd(g *globals) *cobra.Command {
	var r network.CreateNetworkRequest
	var cidr, gateway string
	var dns, pools []string
	var noDHCP bool
	cmd := &cobra.Command{Use: "create NAME --cidr 10.1.2.0/24", Short: "create a network", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			r.Name = a[0]
			var err error
			if r.Subnet.CIDR, err = netip.ParsePrefix(cidr); err != nil {
				return err
			}
			if gateway != "" {
				if r.Subnet.Gateway, err = netip.ParseAddr(gateway); err != nil {
					return err
				}
			}
			for _, d := range dns {
				addr, err := netip.ParseAddr(d)
				if err != nil {
					return err
				}
				r.Subnet.DNS = append(r.Subnet.DNS, addr)
			}
			for _, p := range pools {
				pool, err := parsePool(p)
				if err != nil {
					return err
				}
				r.Subnet.Pools = append(r.Subnet.Pools, pool)
			}
			r.Subnet.DHCP = !noDHCP
			var n network.Network
			if err := g.call("POST", "/api/v1/networks", r, &n); err != nil {
				return err
			}
			return g.print(n, networkHeader, [][]string{networkRow(&n)})
		}}
	fs := cmd.Flags()
	fs.StringVar(&cidr, "cidr", "", "the subnet, e.g. 10.1.2.0/24")
	fs.StringVar(&gateway, "gateway", "", "gateway address (default: the first host)")
	fs.StringSliceVar(&dns, "dns", nil, "DNS servers given by DHCP (default: the gateway)")
	fs.BoolVar(&noDHCP, "no-dhcp", false, "no DHCP server on this network")
	fs.StringSliceVar(&pools, "pool", nil, "allocation pool START-END (default: every host address but the gateway)")
	fs.StringVar(&r.Kind, "kind", "", "nat (default), isolated, bridged or external (bridged and external: admins only)")
	fs.BoolVar(&r.External, "external", false, "floating IPs come from this network (kind external; needs --uplink; admins only)")
	fs.StringVar(&r.Uplink, "uplink", "", "the host interface: where NAT traffic leaves, or the one an external network's subnet is on (admins only)")
	fs.StringVar(&r.Bridge, "bridge", "", "kind bridged: the host's existing LAN bridge to join (e.g. vmbr0)")
	fs.BoolVar(&r.Shared, "shared", false, "external: every project may take floating IPs from it (admins only)")
	fs.IntVar(&r.MTU, "mtu", 0, "MTU (default 1500)")
	return cmd
}

// newNetworkSetCmd changes a network: for now whether an external network is shared (admins only).
func newNetworkSetCmd(g *globals) *cobra.Command {
	var shared bool
	cmd := &cobra.Command{Use: "set NETWORK --shared[=false]", Short: "share an external network with every project, or stop (admins only)",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, a []string) error {
			var r network.UpdateNetworkRequest
			if c.Flags().Changed("shared") {
				r.Shared = &shared
			}
			var n network.Network
			if err := g.call("PATCH", "/api/v1/networks/"+url.PathEscape(a[0]), r, &n); err != nil {
				return err
			}
			return g.print(n, networkHeader, [][]string{networkRow(&n)})
		}}
	cmd.Flags().BoolVar(&shared, "shared", false, "every project may take floating IPs from it (--shared=false stops that)")
	return cmd
}

// parsePool reads START-END.
func parsePool(s string) (network.Pool, error) {
	a, b, ok := strings.Cut(s, "-")
	start, err1 := netip.ParseAddr(a)
	end, err2 := netip.ParseAddr(b)
	if !ok || err1 != nil || err2 != nil {
		return network.Pool{}, fmt.Errorf("--pool %q: want START-END, e.g. 203.0.113.10-203.0.113.20", s)
	}
	return network.Pool{Start: start, End: end}, nil
}

var networkHeader = []string{"NAME", "KIND", "SUBNET", "GATEWAY", "DHCP", "SHARED", "ID"}

func networkRow(n *network.Network) []string {
	return []string{n.Name, n.Kind, n.Subnet.CIDR.String(), n.Subnet.Gateway.String(), strconv.FormatBool(n.Subnet.DHCP),
		strconv.FormatBool(n.Shared), n.ID}
}

func newPortCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "port", Short: "addresses on networks: a MAC and a fixed IP each"}
	var r network.CreatePortRequest
	var ip string
	create := &cobra.Command{Use: "create [NAME] --network NET", Short: "create a port", Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			if len(a) == 1 {
				r.Name = a[0]
			}
			if ip != "" {
				addr, err := netip.ParseAddr(ip)
				if err != nil {
					return err
				}
				r.FixedIP = addr
			}
			var p network.Port
			if err := g.call("POST", "/api/v1/ports", r, &p); err != nil {
				return err
			}
			return g.print(p, portHeader, [][]string{portRow(&p)})
		}}
	create.Flags().StringVar(&r.Network, "network", "default", "network name or id")
	create.Flags().StringVar(&ip, "fixed-ip", "", "the address to reserve (default: the next free one)")
	create.Flags().StringVar(&r.MAC, "mac", "", "MAC address (default: a random fa:16:3e one)")
	create.Flags().StringSliceVar(&r.SecurityGroups, "security-group", nil, "a security group (repeatable; default: default)")
	cmd.AddCommand(create, newPortSetCmd(g),
		&cobra.Command{Use: "list", Short: "list ports", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				var out []*network.Port
				if err := g.call("GET", "/api/v1/ports", nil, &out); err != nil {
					return err
				}
				rows := make([][]string, 0, len(out))
				for _, p := range out {
					rows = append(rows, portRow(p))
				}
				return g.print(out, portHeader, rows)
			}},
		&cobra.Command{Use: "delete PORT", Short: "delete a port", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				return g.call("DELETE", "/api/v1/ports/"+url.PathEscape(a[0]), nil, nil)
			}})
	return cmd
}

// newPortSetCmd changes a port's security groups or port security (Neutron's `port set`).
func newPortSetCmd(g *globals) *cobra.Command {
	var groups []string
	var noGroups, security, noSecurity bool
	set := &cobra.Command{Use: "set PORT", Short: "change a port's security groups or port security; applies at once",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, a []string) error {
			var r network.UpdatePortRequest
			if c.Flags().Changed("security-group") || noGroups {
				groups = append([]string{}, groups...)
				r.SecurityGroups = &groups
			}
			if security || noSecurity {
				on := security
				r.PortSecurity = &on
			}
			var p network.Port
			if err := g.call("PUT", "/api/v1/ports/"+url.PathEscape(a[0]), r, &p); err != nil {
				return err
			}
			return g.print(p, portHeader, [][]string{portRow(&p)})
		}}
	set.Flags().StringSliceVar(&groups, "security-group", nil, "the port's security groups, replacing its own (repeatable)")
	set.Flags().BoolVar(&noGroups, "no-security-group", false, "remove every security group (nothing allowed in or out)")
	set.Flags().BoolVar(&security, "port-security", false, "turn anti-spoofing and security groups on")
	set.Flags().BoolVar(&noSecurity, "no-port-security", false, "turn anti-spoofing and security groups off")
	set.MarkFlagsMutuallyExclusive("port-security", "no-port-security")
	set.MarkFlagsMutuallyExclusive("security-group", "no-security-group")
	return set
}

var portHeader = []string{"NAME", "MAC", "FIXED IPS", "DEVICE", "ID"}

func portRow(p *network.Port) []string {
	var ips []string
	for _, a := range p.FixedIPs {
		ips = append(ips, a.String())
	}
	return []string{p.Name, p.MAC, strings.Join(ips, ","), p.DeviceID, p.ID}
}
