package main

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"cloudlet/appliance/network"
)

func newFloatingIPCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "floating-ip", Aliases: []string{"fip"},
		Short: "addresses of an external network mapped one to one onto ports"}
	cmd.AddCommand(newFloatingIPCreateCmd(g), newFloatingIPSetCmd(g),
		&cobra.Command{Use: "list", Short: "list floating IPs", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				var out []*network.FloatingIP
				if err := g.call("GET", "/api/v1/floating-ips", nil, &out); err != nil {
					return err
				}
				rows := make([][]string, 0, len(out))
				for _, f := range out {
					rows = append(rows, floatingIPRow(f))
				}
				return g.print(out, floatingIPHeader, rows)
			}},
		&cobra.Command{Use: "show FLOATING_IP", Short: "show a floating IP (by id, name or address)", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				var f network.FloatingIP
				if err := g.call("GET", floatingIPPath(a[0]), nil, &f); err != nil {
					return err
				}
				return g.print(f, floatingIPHeader, [][]string{floatingIPRow(&f)})
			}},
		&cobra.Command{Use: "unset FLOATING_IP", Short: "disassociate a floating IP from its port", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return g.setFloatingIP(a[0], "") }},
		&cobra.Command{Use: "delete FLOATING_IP", Short: "release a floating IP", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return g.call("DELETE", floatingIPPath(a[0]), nil, nil) }})
	return cmd
}

func newFloatingIPCreateCmd(g *globals) *cobra.Command {
	var r network.CreateFloatingIPRequest
	var ip string
	cmd := &cobra.Command{Use: "create NETWORK [--ip ADDRESS] [--port PORT]", Short: "allocate a floating IP from an external network (the project's own, or one an admin shared)",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			r.Network = a[0]
			if ip != "" {
				addr, err := netip.ParseAddr(ip)
				if err != nil {
					return fmt.Errorf("--ip: %w", err)
				}
				r.IP = addr
			}
			var f network.FloatingIP
			if err := g.call("POST", "/api/v1/floating-ips", r, &f); err != nil {
				return err
			}
			return g.print(f, floatingIPHeader, [][]string{floatingIPRow(&f)})
		}}
	fs := cmd.Flags()
	fs.StringVar(&ip, "ip", "", "the address to take (default: the next free one of the pools)")
	fs.StringVar(&r.Port, "port", "", "associate with this port at once")
	fs.StringVar(&r.Name, "name", "", "a name for the floating IP")
	fs.StringVar(&r.Description, "description", "", "what it is for")
	return cmd
}

func newFloatingIPSetCmd(g *globals) *cobra.Command {
	var port string
	cmd := &cobra.Command{Use: "set FLOATING_IP --port PORT", Short: "associate a floating IP with a port", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			if port == "" {
				return fmt.Errorf("--port is required (use unset to disassociate)")
			}
			return g.setFloatingIP(a[0], port)
		}}
	cmd.Flags().StringVar(&port, "port", "", "the port (id or name)")
	return cmd
}

func (g *globals) setFloatingIP(ref, port string) error {
	var f network.FloatingIP
	if err := g.call("PUT", floatingIPPath(ref), network.UpdateFloatingIPRequest{Port: &port}, &f); err != nil {
		return err
	}
	return g.print(f, floatingIPHeader, [][]string{floatingIPRow(&f)})
}

func floatingIPPath(ref string) string { return "/api/v1/floating-ips/" + url.PathEscape(ref) }

var floatingIPHeader = []string{"FLOATING IP", "FIXED IP", "PORT", "STATUS", "NETWORK", "ID"}

func floatingIPRow(f *network.FloatingIP) []string {
	fixed, port := "-", "-"
	if f.PortID != "" {
		fixed, port = f.FixedIP.String(), f.PortID
	}
	return []string{f.IP.String(), fixed, port, f.Status, f.NetworkID, f.ID}
}

func newPortForwardCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "port-forward", Short: "host ports published on ports (host:PORT → instance:PORT)"}
	cmd.AddCommand(newPortForwardCreateCmd(g),
		&cobra.Command{Use: "list", Short: "list port forwards", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				var out []*network.PortForward
				if err := g.call("GET", "/api/v1/port-forwards", nil, &out); err != nil {
					return err
				}
				rows := make([][]string, 0, len(out))
				for _, pf := range out {
					rows = append(rows, portForwardRow(pf))
				}
				return g.print(out, portForwardHeader, rows)
			}},
		&cobra.Command{Use: "show PORT_FORWARD", Short: "show a port forward", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				var pf network.PortForward
				if err := g.call("GET", "/api/v1/port-forwards/"+url.PathEscape(a[0]), nil, &pf); err != nil {
					return err
				}
				return g.print(pf, portForwardHeader, [][]string{portForwardRow(&pf)})
			}},
		&cobra.Command{Use: "delete PORT_FORWARD", Short: "unpublish a host port", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				return g.call("DELETE", "/api/v1/port-forwards/"+url.PathEscape(a[0]), nil, nil)
			}})
	return cmd
}

func newPortForwardCreateCmd(g *globals) *cobra.Command {
	var r network.CreatePortForwardRequest
	var hostIP string
	cmd := &cobra.Command{Use: "create PORT --protocol tcp --host-port N --internal-port N [--host-ip ADDRESS]",
		Short: "publish a host port on a port", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			r.Port = a[0]
			if hostIP != "" {
				addr, err := netip.ParseAddr(hostIP)
				if err != nil {
					return fmt.Errorf("--host-ip: %w", err)
				}
				r.HostIP = addr
			}
			var pf network.PortForward
			if err := g.call("POST", "/api/v1/port-forwards", r, &pf); err != nil {
				return err
			}
			return g.print(pf, portForwardHeader, [][]string{portForwardRow(&pf)})
		}}
	fs := cmd.Flags()
	fs.StringVar(&r.Protocol, "protocol", "tcp", "tcp or udp")
	fs.IntVar(&r.HostPort, "host-port", 0, "the host port to publish (members: in the admin's port_forward_range, default 20000-29999)")
	fs.IntVar(&r.InternalPort, "internal-port", 0, "the port on the instance")
	fs.StringVar(&hostIP, "host-ip", "", "one host address to publish on (default: all of them)")
	fs.StringVar(&r.Name, "name", "", "a name for the port forward")
	fs.StringVar(&r.Description, "description", "", "what it is for")
	return cmd
}

var portForwardHeader = []string{"PROTOCOL", "HOST", "TO", "PORT", "ID"}

func portForwardRow(pf *network.PortForward) []string {
	host := "*"
	if pf.HostIP.IsValid() {
		host = pf.HostIP.String()
	}
	return []string{pf.Protocol, host + ":" + strconv.Itoa(pf.HostPort),
		netip.AddrPortFrom(pf.FixedIP, uint16(pf.InternalPort)).String(), pf.PortID, pf.ID}
}
