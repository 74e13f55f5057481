package main

import (
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"cloudlet/appliance/volume"
)

func newSnapshotCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "snapshot", Short: "read-only points in a volume's history: create, list, show, delete"}
	cmd.AddCommand(
		&cobra.Command{Use: "create VOLUME NAME", Short: "snapshot a volume (live when attached to a running instance)",
			Args: cobra.ExactArgs(2),
			RunE: func(_ *cobra.Command, a []string) error {
				return g.showSnapshot("POST", volumePath(a[0])+"/snapshots", map[string]string{"name": a[1]})
			}},
		&cobra.Command{Use: "list [VOLUME]", Short: "list snapshots, of one volume or of all", Args: cobra.MaximumNArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				path := "/api/v1/snapshots"
				if len(a) == 1 {
					path = volumePath(a[0]) + "/snapshots"
				}
				return snapshotList(g, path)
			}},
		&cobra.Command{Use: "show SNAPSHOT", Short: "show one snapshot", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return g.showSnapshot("GET", snapshotPath(a[0]), nil) }},
		&cobra.Command{Use: "delete SNAPSHOT", Short: "delete a snapshot (merged out of the chains above it)",
			Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return g.call("DELETE", snapshotPath(a[0]), nil, nil) }},
		&cobra.Command{Use: "image SNAPSHOT NAME", Short: "make an image from a snapshot (its whole chain, flattened)",
			Args: cobra.ExactArgs(2),
			RunE: func(_ *cobra.Command, a []string) error {
				var img map[string]any
				if err := g.call("POST", snapshotPath(a[0])+"/image", map[string]string{"name": a[1]}, &img); err != nil {
					return err
				}
				return g.printJSON(img)
			}},
	)
	return cmd
}

func snapshotPath(ref string) string { return "/api/v1/snapshots/" + url.PathEscape(ref) }

var snapshotHeader = []string{"NAME", "STATUS", "SIZE", "VOLUME", "ID"}

// snapshotRow shows the volume by name when volumes knows it (see volumeNames).
func snapshotRow(sn *volume.Snapshot, volumes map[string]string) []string {
	vol := volumes[sn.VolumeID]
	if vol == "" {
		vol = sn.VolumeID
	}
	return []string{sn.Name, sn.Status, strconv.Itoa(sn.SizeGiB) + " GiB", vol, sn.ID}
}

// volumeNames maps volume IDs to names for tables; like poolNames it is only cosmetic.
func (g *globals) volumeNames() map[string]string {
	var vols []*volume.Volume
	if err := g.call("GET", "/api/v1/volumes", nil, &vols); err != nil {
		return nil
	}
	names := make(map[string]string, len(vols))
	for _, v := range vols {
		names[v.ID] = v.Name
	}
	return names
}

func snapshotList(g *globals, path string) error {
	var out []*volume.Snapshot
	raw, err := g.fetch("GET", path, nil, &out)
	if err != nil {
		return err
	}
	names := g.volumeNames()
	rows := make([][]string, 0, len(out))
	for _, sn := range out {
		rows = append(rows, snapshotRow(sn, names))
	}
	return g.print(raw, snapshotHeader, rows)
}

// showSnapshot does a request whose answer is one snapshot and prints it.
func (g *globals) showSnapshot(method, path string, in any) error {
	var sn volume.Snapshot
	raw, err := g.fetch(method, path, in, &sn)
	if err != nil {
		return err
	}
	return g.print(raw, snapshotHeader, [][]string{snapshotRow(&sn, g.volumeNames())})
}
