package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"cloudlet/appliance/volume"
)

func newPoolCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "pool", Short: "directories that hold volumes: list, show, create, delete, default"}
	cmd.AddCommand(
		&cobra.Command{Use: "list", Short: "list pools with their capacity and usage", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error { return poolList(g) }},
		&cobra.Command{Use: "show POOL", Short: "show one pool", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return g.showPool("GET", poolPath(a[0]), nil) }},
		newPoolCreateCmd(g),
		&cobra.Command{Use: "delete POOL", Short: "delete an empty pool (admin; its directory stays)", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return g.call("DELETE", poolPath(a[0]), nil, nil) }},
		&cobra.Command{Use: "default POOL", Short: "make POOL the one volumes go to when they name none (admin)",
			Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return g.showPool("POST", poolPath(a[0])+"/default", nil) }},
	)
	return cmd
}

// poolRequest is the body of POST /api/v1/pools.
type poolRequest struct {
	Name          string `json:"name"`
	Path          string `json:"path"`
	ClusterSize   int64  `json:"cluster_size,omitempty"`
	Preallocation string `json:"preallocation,omitempty"`
	Default       bool   `json:"default,omitempty"`
}

func newPoolCreateCmd(g *globals) *cobra.Command {
	var r poolRequest
	cmd := &cobra.Command{Use: "create NAME --path DIR", Short: "add a pool at a directory of this host (admin)",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			r.Name, r.Path = a[0], absPath(r.Path)
			return g.showPool("POST", "/api/v1/pools", r)
		}}
	fs := cmd.Flags()
	fs.StringVar(&r.Path, "path", "", "directory of the pool (made 0711 if missing)")
	fs.Int64Var(&r.ClusterSize, "cluster-size", 0, "qcow2 cluster size in bytes for new volumes (default 65536)")
	fs.StringVar(&r.Preallocation, "preallocation", "", "off (default), metadata or full, for new standalone volumes")
	fs.BoolVar(&r.Default, "default", false, "make it the default pool")
	cmd.MarkFlagRequired("path")
	return cmd
}

func poolPath(ref string) string { return "/api/v1/pools/" + url.PathEscape(ref) }

var poolHeader = []string{"NAME", "DEFAULT", "PATH", "CAPACITY", "FREE", "USED", "VOLUMES", "ID"}

func poolRow(p *volume.PoolStats) []string {
	def := ""
	if p.Default {
		def = "*"
	}
	capacity, free := gibString(p.CapacityBytes), gibString(p.FreeBytes)
	if p.Error != "" {
		capacity, free = "?", "?"
	}
	return []string{p.Name, def, p.Path, capacity, free, gibString(p.UsedBytes), strconv.Itoa(p.Volumes), p.ID}
}

// gibString shows a byte count in GiB.
func gibString(n int64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }

func poolList(g *globals) error {
	var out []*volume.PoolStats
	raw, err := g.fetch("GET", "/api/v1/pools", nil, &out)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(out))
	for _, p := range out {
		rows = append(rows, poolRow(p))
	}
	return g.print(raw, poolHeader, rows)
}

// showPool does a request whose answer is one pool and prints it.
func (g *globals) showPool(method, path string, in any) error {
	var p volume.PoolStats
	raw, err := g.fetch(method, path, in, &p)
	if err != nil {
		return err
	}
	return g.print(raw, poolHeader, [][]string{poolRow(&p)})
}

// fetch does one API request and decodes the answer into v for tables; the answer itself is
// returned as is, for -o json (so a field the API leaves out is not printed back as empty).
func (g *globals) fetch(method, path string, in, v any) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := g.call(method, path, in, &raw); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return raw, nil
}
