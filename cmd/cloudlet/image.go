package main

import (
	"net/url"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"cloudlet/images"
)

func newImageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "disk images instances boot from"}
	cmd.AddCommand(newImageImportCmd(g),
		&cobra.Command{Use: "list", Short: "list images", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error { return imageList(g) }},
		&cobra.Command{Use: "show IMAGE", Short: "show one image", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return imageShow(g, a[0]) }},
		&cobra.Command{Use: "delete IMAGE", Short: "delete an image", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				return g.call("DELETE", "/api/v1/images/"+url.PathEscape(a[0]), nil, nil)
			}})
	return cmd
}

func newImageImportCmd(g *globals) *cobra.Command {
	var r struct {
		Name       string `json:"name"`
		Path       string `json:"path"`
		DiskFormat string `json:"disk_format"`
		KernelPath string `json:"kernel_path,omitempty"`
		InitrdPath string `json:"initrd_path,omitempty"`
		Cmdline    string `json:"cmdline,omitempty"`
		Firmware   string `json:"firmware,omitempty"`
		Visibility string `json:"visibility,omitempty"`
	}
	var public bool
	cmd := &cobra.Command{Use: "import NAME FILE", Short: "import an image from a file on the daemon's host (admin)",
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, a []string) error {
			r.Name = a[0]
			abs := func(p string) string {
				if p == "" {
					return ""
				}
				v, _ := filepath.Abs(p)
				return v
			}
			r.Path, r.KernelPath, r.InitrdPath = abs(a[1]), abs(r.KernelPath), abs(r.InitrdPath)
			if public {
				r.Visibility = "public"
			}
			var img images.Image
			if err := g.call("POST", "/api/v1/images/import-file", r, &img); err != nil {
				return err
			}
			return g.print(img, imageHeader, [][]string{imageRow(&img)})
		}}
	fs := cmd.Flags()
	fs.StringVar(&r.DiskFormat, "format", "qcow2", "disk format of FILE: qcow2 or raw (never guessed)")
	fs.StringVar(&r.KernelPath, "kernel", "", "kernel for direct boot")
	fs.StringVar(&r.InitrdPath, "initrd", "", "initrd for direct boot")
	fs.StringVar(&r.Cmdline, "cmdline", "", "kernel command line for direct boot")
	fs.StringVar(&r.Firmware, "firmware", "bios", "bios or uefi")
	fs.BoolVar(&public, "public", false, "visible to every project")
	return cmd
}

var imageHeader = []string{"NAME", "STATUS", "FORMAT", "SIZE", "VISIBILITY", "ID"}

func imageRow(i *images.Image) []string {
	return []string{i.Name, i.Status, i.DiskFormat, strconv.FormatInt(i.Size, 10), i.Visibility, i.ID}
}

func imageList(g *globals) error {
	var out []*images.Image
	if err := g.call("GET", "/api/v1/images", nil, &out); err != nil {
		return err
	}
	rows := make([][]string, 0, len(out))
	for _, i := range out {
		rows = append(rows, imageRow(i))
	}
	return g.print(out, imageHeader, rows)
}

func imageShow(g *globals, ref string) error {
	var img images.Image
	if err := g.call("GET", "/api/v1/images/"+url.PathEscape(ref), nil, &img); err != nil {
		return err
	}
	return g.print(img, imageHeader, [][]string{imageRow(&img)})
}
