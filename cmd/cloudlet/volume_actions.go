package main

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"cloudlet/appliance/volume"
)

func newVolumeAttachCmd(g *globals) *cobra.Command {
	var dot bool
	cmd := &cobra.Command{Use: "attach VOLUME INSTANCE", Short: "attach a volume to an instance (hot-plugged when it runs)",
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, a []string) error {
			body := map[string]any{"instance": a[1], "delete_on_termination": dot}
			return g.showVolume("POST", volumePath(a[0])+"/attach", body)
		}}
	cmd.Flags().BoolVar(&dot, "delete-on-termination", false, "delete the volume with the instance")
	return cmd
}

func newVolumeDetachCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "detach VOLUME", Short: "detach a volume from its instance (the guest must release it)",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error { return g.showVolume("POST", volumePath(a[0])+"/detach", nil) }}
}

func newVolumeExtendCmd(g *globals) *cobra.Command {
	var size int
	cmd := &cobra.Command{Use: "extend VOLUME --size GiB", Short: "grow a volume (online when attached to a running instance)",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			return g.showVolume("POST", volumePath(a[0])+"/extend", map[string]int{"size_gib": size})
		}}
	cmd.Flags().IntVar(&size, "size", 0, "the new size in GiB (volumes only grow)")
	cmd.MarkFlagRequired("size")
	return cmd
}

// qosFlags are the flags of `volume qos`, in the order of volume.QoS.
var qosFlags = []struct{ name, usage string }{
	{"read-iops", "read operations per second"},
	{"write-iops", "write operations per second"},
	{"read-bytes-sec", "read bytes per second"},
	{"write-bytes-sec", "write bytes per second"},
}

func newVolumeQoSCmd(g *globals) *cobra.Command {
	var vals [4]int64
	cmd := &cobra.Command{Use: "qos VOLUME [--read-iops N] [--write-iops N] [--read-bytes-sec N] [--write-bytes-sec N]",
		Short: "set I/O limits (live on a running instance); limits not given stay, 0 removes one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			var v volume.Volume
			if err := g.call("GET", volumePath(a[0]), nil, &v); err != nil {
				return err
			}
			q := &v.QoS
			for i, f := range []*int64{&q.ReadIOPS, &q.WriteIOPS, &q.ReadBytesSec, &q.WriteBytesSec} {
				if cmd.Flags().Changed(qosFlags[i].name) {
					*f = vals[i]
				}
			}
			return g.showVolume("POST", volumePath(v.ID)+"/qos", v.QoS)
		}}
	for i, f := range qosFlags {
		cmd.Flags().Int64Var(&vals[i], f.name, 0, f.usage+" (0: unlimited)")
	}
	return cmd
}

func newVolumeBootableCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "bootable VOLUME true|false", Short: "mark a volume bootable or not",
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, a []string) error {
			b, err := strconv.ParseBool(a[1])
			if err != nil {
				return fmt.Errorf("bootable: %q is not true or false", a[1])
			}
			return g.showVolume("POST", volumePath(a[0])+"/bootable", map[string]bool{"bootable": b})
		}}
}

func newVolumeRevertCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "revert VOLUME SNAPSHOT", Short: "make a detached volume's content its snapshot's again",
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, a []string) error {
			return g.showVolume("POST", volumePath(a[0])+"/revert", map[string]string{"snapshot": a[1]})
		}}
}

// transferCreated is the answer of POST /api/v1/volumes/{id}/transfer.
type transferCreated struct {
	TransferID string `json:"transfer_id"`
	AuthKey    string `json:"auth_key"`
}

func newVolumeTransferCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "transfer VOLUME", Short: "offer a volume to another project; prints the transfer id and its key, once",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			var t transferCreated
			raw, err := g.fetch("POST", volumePath(a[0])+"/transfer", nil, &t)
			if err != nil {
				return err
			}
			if g.output != "json" {
				fmt.Fprintln(g.stderr, "The auth key is shown only this once: give it with the transfer id to the other project,")
				fmt.Fprintln(g.stderr, "which runs `cloudlet volume accept TRANSFER_ID --key KEY`.")
			}
			return g.print(raw, []string{"TRANSFER ID", "AUTH KEY"}, [][]string{{t.TransferID, t.AuthKey}})
		}}
}

func newVolumeAcceptCmd(g *globals) *cobra.Command {
	var key string
	cmd := &cobra.Command{Use: "accept TRANSFER_ID --key KEY", Short: "take a volume offered to this project",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			path := "/api/v1/volume-transfers/" + url.PathEscape(a[0]) + "/accept"
			return g.showVolume("POST", path, map[string]string{"auth_key": key})
		}}
	cmd.Flags().StringVar(&key, "key", "", "the auth key `volume transfer` printed")
	cmd.MarkFlagRequired("key")
	return cmd
}

func newVolumeCancelTransferCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "cancel-transfer TRANSFER_ID", Short: "withdraw a pending transfer of one of your volumes",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			return g.call("DELETE", "/api/v1/volume-transfers/"+url.PathEscape(a[0]), nil, nil)
		}}
}
