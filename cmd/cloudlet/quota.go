package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"cloudlet/appliance/identity"
)

func newQuotaCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "quota", Short: "per-project limits on instances, vcpus, RAM, volumes, networks, ... and their use"}
	cmd.AddCommand(
		&cobra.Command{Use: "show [PROJECT]", Short: "show a project's limits and usage (default: your project)",
			Args: cobra.MaximumNArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				path := "/api/v1/quotas"
				if len(a) == 1 {
					path = quotaPath(a[0])
				}
				return g.quotaCall("GET", path, nil)
			}},
		newQuotaSetCmd(g),
		&cobra.Command{Use: "reset PROJECT", Short: "give a project the default limits again", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return g.quotaCall("DELETE", quotaPath(a[0]), nil) }})
	return cmd
}

// newQuotaSetCmd has one flag per quota resource (floating_ips is --floating-ips); only the flags
// given change.
func newQuotaSetCmd(g *globals) *cobra.Command {
	limits := map[string]*int64{}
	cmd := &cobra.Command{Use: "set PROJECT --instances N [--cores N] [--ram MIB] ...",
		Short: "override some of a project's limits (-1 = unlimited)", Args: cobra.ExactArgs(1)}
	cmd.RunE = func(c *cobra.Command, a []string) error {
		body := map[string]int64{}
		for resource, v := range limits {
			if c.Flags().Changed(quotaFlag(resource)) {
				body[resource] = *v
			}
		}
		if len(body) == 0 {
			return fmt.Errorf("give at least one limit, e.g. --instances 2 (see cloudlet quota set --help)")
		}
		return g.quotaCall("PUT", quotaPath(a[0]), map[string]any{"limits": body})
	}
	defaults := identity.DefaultLimits()
	for _, resource := range identity.QuotaResources() {
		limits[resource] = cmd.Flags().Int64(quotaFlag(resource), 0,
			fmt.Sprintf("%s (quota default %d)", quotaUnit(resource), defaults[resource]))
	}
	return cmd
}

func (g *globals) quotaCall(method, path string, in any) error {
	var r identity.QuotaReport
	if err := g.call(method, path, in, &r); err != nil {
		return err
	}
	rows := make([][]string, 0, len(r.Quotas))
	for _, resource := range identity.QuotaResources() {
		if u, ok := r.Quotas[resource]; ok {
			rows = append(rows, []string{resource, quotaLimit(u.Limit), strconv.FormatInt(u.InUse, 10)})
		}
	}
	return g.print(r, []string{"RESOURCE", "LIMIT", "IN USE"}, rows)
}

func quotaPath(project string) string { return "/api/v1/quotas/" + url.PathEscape(project) }

func quotaFlag(resource string) string { return strings.ReplaceAll(resource, "_", "-") }

func quotaLimit(n int64) string {
	if n == identity.Unlimited {
		return "unlimited"
	}
	return strconv.FormatInt(n, 10)
}

// quotaUnit says what a resource's limit counts, for --help.
func quotaUnit(resource string) string {
	switch resource {
	case identity.QuotaRAM:
		return "MiB of RAM of instances"
	case identity.QuotaGigabytes:
		return "GiB of volumes and snapshots"
	case identity.QuotaCores:
		return "vcpus of instances"
	}
	return strings.ReplaceAll(resource, "_", " ")
}
