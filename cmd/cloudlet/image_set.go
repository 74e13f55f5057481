package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"cloudlet/images"
)

// newImageSetCmd is `cloudlet image set IMAGE`: change an image's visibility (public: admins),
// protection and minimums; only the flags given are sent.
func newImageSetCmd(g *globals) *cobra.Command {
	var r struct {
		Visibility *string `json:"visibility,omitempty"`
		Protected  *bool   `json:"protected,omitempty"`
		MinDiskGiB *int    `json:"min_disk_gib,omitempty"`
		MinRAMMiB  *int    `json:"min_ram_mib,omitempty"`
	}
	var visibility string
	var protected bool
	var minDisk, minRAM int
	cmd := &cobra.Command{Use: "set IMAGE [--visibility V] [--protected=BOOL] [--min-disk GIB] [--min-ram MIB]",
		Short: "change an image's visibility, protection or minimums", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			fs := cmd.Flags()
			if fs.Changed("visibility") {
				r.Visibility = &visibility
			}
			if fs.Changed("protected") {
				r.Protected = &protected
			}
			if fs.Changed("min-disk") {
				r.MinDiskGiB = &minDisk
			}
			if fs.Changed("min-ram") {
				r.MinRAMMiB = &minRAM
			}
			if r.Visibility == nil && r.Protected == nil && r.MinDiskGiB == nil && r.MinRAMMiB == nil {
				return fmt.Errorf("image set: give --visibility, --protected, --min-disk or --min-ram")
			}
			var img images.Image
			if err := g.call("PATCH", imagePath(a[0]), r, &img); err != nil {
				return err
			}
			return g.printImage(&img)
		}}
	fs := cmd.Flags()
	fs.StringVar(&visibility, "visibility", "", "private, shared or public (public: admins only)")
	fs.BoolVar(&protected, "protected", false, "refuse deletion while set")
	fs.IntVar(&minDisk, "min-disk", 0, "minimum root disk in GiB")
	fs.IntVar(&minRAM, "min-ram", 0, "minimum RAM in MiB")
	return cmd
}
