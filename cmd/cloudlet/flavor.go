package main

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/appliance/compute"
)

func newFlavorCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "flavor", Short: "instance sizes: list, show, create, delete"}
	cmd.AddCommand(
		&cobra.Command{Use: "list", Short: "list flavors", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error { return flavorList(g) }},
		&cobra.Command{Use: "show FLAVOR", Short: "show one flavor", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return flavorShow(g, a[0]) }},
		newFlavorCreateCmd(g),
		&cobra.Command{Use: "delete FLAVOR", Short: "delete a flavor (admin)", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				return g.call("DELETE", "/api/v1/flavors/"+url.PathEscape(a[0]), nil, nil)
			}},
	)
	return cmd
}

func newFlavorCreateCmd(g *globals) *cobra.Command {
	var f compute.Flavor
	cmd := &cobra.Command{Use: "create NAME", Short: "create a flavor (admin)", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			f.Name = a[0]
			var out compute.Flavor
			if err := g.call("POST", "/api/v1/flavors", f, &out); err != nil {
				return err
			}
			return g.print(out, flavorHeader, [][]string{flavorRow(&out)})
		}}
	fs := cmd.Flags()
	fs.IntVar(&f.VCPUs, "vcpus", 1, "virtual CPUs")
	fs.IntVar(&f.RAMMiB, "ram", 512, "RAM in MiB")
	fs.IntVar(&f.DiskGiB, "disk", 1, "root disk in GiB")
	fs.IntVar(&f.EphemeralGiB, "ephemeral", 0, "ephemeral disk in GiB")
	fs.IntVar(&f.SwapMiB, "swap", 0, "swap in MiB")
	fs.BoolVar(&f.Public, "public", true, "visible to every project")
	fs.StringToStringVar(&f.ExtraSpecs, "property", nil, "extra spec KEY=VALUE (repeatable)")
	return cmd
}

var flavorHeader = []string{"NAME", "VCPUS", "RAM MiB", "DISK GiB", "PUBLIC", "ID"}

func flavorRow(f *compute.Flavor) []string {
	return []string{f.Name, strconv.Itoa(f.VCPUs), strconv.Itoa(f.RAMMiB), strconv.Itoa(f.DiskGiB),
		strconv.FormatBool(f.Public), f.ID}
}

func flavorList(g *globals) error {
	var out []*compute.Flavor
	if err := g.call("GET", "/api/v1/flavors", nil, &out); err != nil {
		return err
	}
	rows := make([][]string, 0, len(out))
	for _, f := range out {
		rows = append(rows, flavorRow(f))
	}
	return g.print(out, flavorHeader, rows)
}

func flavorShow(g *globals, ref string) error {
	var f compute.Flavor
	if err := g.call("GET", "/api/v1/flavors/"+url.PathEscape(ref), nil, &f); err != nil {
		return err
	}
	return g.print(f, flavorHeader, [][]string{flavorRow(&f)})
}

// call does one API request with the default timeout.
func (g *globals) call(method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return g.client().Do(ctx, method, path, in, out)
}
