package main

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"cloudlet/appliance/volume"
)

func newVolumeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "volume", Short: "persistent disks: create, attach, extend, snapshot, transfer"}
	cmd.AddCommand(newVolumeCreateCmd(g),
		&cobra.Command{Use: "list", Short: "list volumes", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error { return volumeList(g) }},
		&cobra.Command{Use: "show VOLUME", Short: "show one volume in detail", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return volumeShow(g, a[0]) }},
		&cobra.Command{Use: "delete VOLUME", Short: "delete a volume (not while attached or while it has snapshots)",
			Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return g.call("DELETE", volumePath(a[0]), nil, nil) }},
		newVolumeAttachCmd(g), newVolumeDetachCmd(g), newVolumeExtendCmd(g), newVolumeQoSCmd(g),
		newVolumeBootableCmd(g), newVolumeRevertCmd(g),
		newVolumeTransferCmd(g), newVolumeAcceptCmd(g), newVolumeCancelTransferCmd(g),
		newSnapshotCmd(g))
	return cmd
}

// volumeRequest is the body of POST /api/v1/volumes.
type volumeRequest struct {
	Name     string `json:"name"`
	Pool     string `json:"pool,omitempty"`
	SizeGiB  int    `json:"size_gib,omitempty"`
	Image    string `json:"image,omitempty"`
	Snapshot string `json:"snapshot,omitempty"`
	Volume   string `json:"volume,omitempty"`
	FullCopy bool   `json:"full_copy,omitempty"`
	Bootable *bool  `json:"bootable,omitempty"`
}

func newVolumeCreateCmd(g *globals) *cobra.Command {
	var r volumeRequest
	var bootable bool
	cmd := &cobra.Command{Use: "create NAME [--size GiB] [--image I | --snapshot S | --from-volume V]",
		Short: "create an empty volume, or one from an image, a snapshot or another volume",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			r.Name = a[0]
			if cmd.Flags().Changed("bootable") {
				r.Bootable = &bootable
			}
			return g.showVolume("POST", "/api/v1/volumes", r)
		}}
	fs := cmd.Flags()
	fs.IntVar(&r.SizeGiB, "size", 0, "size in GiB (default: the source's; required for an empty volume)")
	fs.StringVar(&r.Pool, "pool", "", "pool name or id (default: the default pool)")
	fs.StringVar(&r.Image, "image", "", "make it from this image (an overlay unless --full-copy)")
	fs.StringVar(&r.Snapshot, "snapshot", "", "make it from this snapshot (an overlay unless --full-copy)")
	fs.StringVar(&r.Volume, "from-volume", "", "clone this volume")
	fs.BoolVar(&r.FullCopy, "full-copy", false, "copy the source instead of overlaying it")
	fs.BoolVar(&bootable, "bootable", false, "mark it bootable (default: true from an image, the source's otherwise)")
	cmd.MarkFlagsMutuallyExclusive("image", "snapshot", "from-volume")
	return cmd
}

func volumePath(ref string) string { return "/api/v1/volumes/" + url.PathEscape(ref) }

var volumeHeader = []string{"NAME", "STATUS", "SIZE", "POOL", "ATTACHED TO", "ID"}

// volumeRow shows the pool by name when pools knows it (see poolNames).
func volumeRow(v *volume.Volume, pools map[string]string) []string {
	pool := pools[v.PoolID]
	if pool == "" {
		pool = v.PoolID
	}
	return []string{v.Name, v.Status, strconv.Itoa(v.SizeGiB) + " GiB", pool, attachedTo(v), v.ID}
}

// attachedTo shows an attachment as "INSTANCE (DEVICE)", "-" for none.
func attachedTo(v *volume.Volume) string {
	a := v.Attachment
	switch {
	case a == nil:
		return "-"
	case a.Device == "" && a.Boot:
		return a.InstanceID + " (boot)"
	case a.Device == "":
		return a.InstanceID + " (reserved)"
	}
	return a.InstanceID + " (" + a.Device + ")"
}

// poolNames maps pool IDs to names for tables. It is only cosmetic: when pools cannot be listed
// (an old daemon, a hiccup), tables show pool IDs instead and the command still succeeds.
func (g *globals) poolNames() map[string]string {
	var pools []*volume.PoolStats
	if err := g.call("GET", "/api/v1/pools", nil, &pools); err != nil {
		return nil
	}
	names := make(map[string]string, len(pools))
	for _, p := range pools {
		names[p.ID] = p.Name
	}
	return names
}

func volumeList(g *globals) error {
	var out []*volume.Volume
	raw, err := g.fetch("GET", "/api/v1/volumes", nil, &out)
	if err != nil {
		return err
	}
	pools := g.poolNames()
	rows := make([][]string, 0, len(out))
	for _, v := range out {
		rows = append(rows, volumeRow(v, pools))
	}
	return g.print(raw, volumeHeader, rows)
}

// showVolume does a request whose answer is one volume and prints it as a one-row table.
func (g *globals) showVolume(method, path string, in any) error {
	var v volume.Volume
	raw, err := g.fetch(method, path, in, &v)
	if err != nil {
		return err
	}
	return g.print(raw, volumeHeader, [][]string{volumeRow(&v, g.poolNames())})
}

func volumeShow(g *globals, ref string) error {
	var v volume.Volume
	raw, err := g.fetch("GET", volumePath(ref), nil, &v)
	if err != nil {
		return err
	}
	return g.print(raw, []string{"FIELD", "VALUE"}, volumeDetail(&v, g.poolNames()))
}

func volumeDetail(v *volume.Volume, pools map[string]string) [][]string {
	pool := pools[v.PoolID]
	if pool == "" {
		pool = v.PoolID
	}
	rows := [][]string{
		{"name", v.Name}, {"id", v.ID}, {"status", v.Status}, {"task", v.Task}, {"fault", v.Fault},
		{"size", strconv.Itoa(v.SizeGiB) + " GiB"}, {"pool", pool}, {"bootable", strconv.FormatBool(v.Bootable)},
		{"attached_to", attachedTo(v)}, {"source", source(v.Source, v.FullCopy)},
		{"chain_depth", strconv.Itoa(v.Depth)}, {"base_image", v.BaseImageID}, {"path", v.Path},
		{"qos", qosString(v.QoS)},
	}
	if v.Attachment != nil {
		rows = append(rows, []string{"delete_on_termination", strconv.FormatBool(v.Attachment.DeleteOnTermination)})
	}
	if t := v.Transfer; t != nil {
		rows = append(rows, []string{"transfer", t.ID + " (pending since " + t.CreatedAt.Format("2006-01-02 15:04") + ")"})
	}
	return slices.DeleteFunc(rows, func(r []string) bool { return r[1] == "" }) // task, fault, base_image when unset
}

func source(s volume.Source, fullCopy bool) string {
	var out string
	switch {
	case s.VolumeID != "":
		out = "volume " + s.VolumeID
	case s.SnapshotID != "":
		out = "snapshot " + s.SnapshotID
	case s.ImageID != "":
		out = "image " + s.ImageID
	default:
		return "empty"
	}
	if fullCopy {
		out += " (full copy)"
	}
	return out
}

func qosString(q volume.QoS) string {
	if q == (volume.QoS{}) {
		return "unlimited"
	}
	limit := func(n int64) string {
		if n == 0 {
			return "-"
		}
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprintf("read_iops=%s write_iops=%s read_bytes_sec=%s write_bytes_sec=%s",
		limit(q.ReadIOPS), limit(q.WriteIOPS), limit(q.ReadBytesSec), limit(q.WriteBytesSec))
}
