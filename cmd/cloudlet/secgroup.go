package main

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"cloudlet/appliance/network"
)

func newSecurityGroupCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "security-group", Aliases: []string{"sg"}, Short: "rules for what reaches and leaves ports"}
	var desc string
	create := &cobra.Command{Use: "create NAME", Short: "create an empty group", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			var out network.SecurityGroup
			if err := g.call("POST", "/api/v1/security-groups", map[string]string{"name": a[0], "description": desc}, &out); err != nil {
				return err
			}
			return g.print(out, ruleHeader, ruleRows(&out))
		}}
	create.Flags().StringVar(&desc, "description", "", "what the group is for")
	cmd.AddCommand(create, newRuleAddCmd(g),
		&cobra.Command{Use: "list", Short: "list groups", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				var out []*network.SecurityGroup
				if err := g.call("GET", "/api/v1/security-groups", nil, &out); err != nil {
					return err
				}
				rows := make([][]string, 0, len(out))
				for _, sg := range out {
					rows = append(rows, []string{sg.Name, strconv.Itoa(len(sg.Rules)), sg.Description, sg.ID})
				}
				return g.print(out, []string{"NAME", "RULES", "DESCRIPTION", "ID"}, rows)
			}},
		&cobra.Command{Use: "show GROUP", Short: "show a group and its rules", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				var out network.SecurityGroup
				if err := g.call("GET", "/api/v1/security-groups/"+url.PathEscape(a[0]), nil, &out); err != nil {
					return err
				}
				return g.print(out, ruleHeader, ruleRows(&out))
			}},
		&cobra.Command{Use: "delete GROUP", Short: "delete a group no port uses", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				return g.call("DELETE", "/api/v1/security-groups/"+url.PathEscape(a[0]), nil, nil)
			}},
		&cobra.Command{Use: "rule-delete RULE_ID", Short: "delete a rule", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				return g.call("DELETE", "/api/v1/security-group-rules/"+url.PathEscape(a[0]), nil, nil)
			}})
	return cmd
}

func newRuleAddCmd(g *globals) *cobra.Command {
	var r network.Rule
	var cidr, ports string
	cmd := &cobra.Command{Use: "rule-add GROUP --direction ingress --protocol tcp --port 22", Short: "allow one kind of traffic",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			if cidr != "" {
				p, err := netip.ParsePrefix(cidr)
				if err != nil {
					return err
				}
				r.RemoteCIDR = p
			}
			if ports != "" {
				if _, err := fmt.Sscanf(ports+"-"+ports, "%d-%d", &r.PortMin, &r.PortMax); err != nil {
					return fmt.Errorf("--port %q: %w", ports, err)
				}
			}
			var out network.SecurityGroup
			if err := g.call("POST", "/api/v1/security-groups/"+url.PathEscape(a[0])+"/rules", r, &out); err != nil {
				return err
			}
			return g.print(out, ruleHeader, ruleRows(&out))
		}}
	fs := cmd.Flags()
	fs.StringVar(&r.Direction, "direction", "ingress", "ingress or egress")
	fs.StringVar(&r.Protocol, "protocol", "tcp", "tcp, udp, icmp or any")
	fs.StringVar(&ports, "port", "", "a port (tcp/udp)")
	fs.StringVar(&cidr, "remote-cidr", "", "allowed peer addresses, e.g. 0.0.0.0/0")
	fs.StringVar(&r.RemoteGroup, "remote-group", "", "allowed peers: members of this group")
	return cmd
}

var ruleHeader = []string{"DIRECTION", "PROTOCOL", "PORTS", "REMOTE", "RULE ID"}

func ruleRows(sg *network.SecurityGroup) [][]string {
	var rows [][]string
	for _, r := range sg.Rules {
		remote := "any"
		if r.RemoteCIDR.IsValid() {
			remote = r.RemoteCIDR.String()
		} else if r.RemoteGroup != "" {
			remote = "group " + r.RemoteGroup
		}
		ports := "-"
		if r.PortMin > 0 {
			ports = fmt.Sprintf("%d-%d", r.PortMin, r.PortMax)
		}
		rows = append(rows, []string{r.Direction, r.Protocol, ports, remote, r.ID})
	}
	return rows
}
