package main

import (
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"cloudlet/images"
)

func newImageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "image", Short: "disk images instances boot from"}
	cmd.AddCommand(newImageCreateCmd(g), newImageUploadCmd(g), newImageImportCmd(g), newImageDownloadCmd(g),
		newImageShareCmd(g, "share", "POST"), newImageShareCmd(g, "unshare", "DELETE"), newImageMemberCmd(g), newImageSetCmd(g),
		newImageListCmd(g),
		&cobra.Command{Use: "show IMAGE", Short: "show one image", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error { return imageShow(g, a[0]) }},
		&cobra.Command{Use: "delete IMAGE", Short: "delete an image", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				return g.call("DELETE", imagePath(a[0]), nil, nil)
			}})
	return cmd
}

// imageAttrs are the attributes every way of making an image takes, as flags and as JSON.
type imageAttrs struct {
	Name            string            `json:"name"`
	DiskFormat      string            `json:"disk_format"`
	ContainerFormat string            `json:"container_format,omitempty"`
	Firmware        string            `json:"firmware,omitempty"`
	Visibility      string            `json:"visibility,omitempty"`
	MinDiskGiB      int               `json:"min_disk_gib,omitempty"`
	MinRAMMiB       int               `json:"min_ram_mib,omitempty"`
	Protected       bool              `json:"protected,omitempty"`
	Properties      map[string]string `json:"properties,omitempty"`
}

// register adds the attribute flags to cmd.
func (a *imageAttrs) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&a.DiskFormat, "format", "qcow2", "disk format: qcow2, raw, iso; vmdk, vhdx, vdi are converted to qcow2 (never guessed)")
	fs.StringVar(&a.ContainerFormat, "container-format", "", "bare (default) or ova")
	fs.StringVar(&a.Firmware, "firmware", "", "bios (default) or uefi")
	fs.StringVar(&a.Visibility, "visibility", "", "private (default), shared or public")
	fs.IntVar(&a.MinDiskGiB, "min-disk", 0, "minimum root disk in GiB")
	fs.IntVar(&a.MinRAMMiB, "min-ram", 0, "minimum RAM in MiB")
	fs.BoolVar(&a.Protected, "protected", false, "refuse deletion until unprotected")
	fs.StringToStringVar(&a.Properties, "property", nil, "property KEY=VALUE (repeatable)")
	fs.Bool("public", false, "visible to every project (same as --visibility public)")
}

// finish applies --public and the OVA default format.
func (a *imageAttrs) finish(cmd *cobra.Command) {
	if public, _ := cmd.Flags().GetBool("public"); public {
		a.Visibility = images.VisibilityPublic
	}
	if a.ContainerFormat == images.ContainerOVA && !cmd.Flags().Changed("format") {
		a.DiskFormat = images.FormatVMDK
	}
}

func newImageCreateCmd(g *globals) *cobra.Command {
	var a imageAttrs
	cmd := &cobra.Command{Use: "create NAME --format FORMAT", Short: "record an image, queued for `image upload`",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Name = args[0]
			a.finish(cmd)
			var img images.Image
			if err := g.call("POST", "/api/v1/images", a, &img); err != nil {
				return err
			}
			return g.printImage(&img)
		}}
	a.register(cmd)
	return cmd
}

func newImageShareCmd(g *globals, verb, method string) *cobra.Command {
	short := "share an image with another project (by name or ID): pending until that project accepts it"
	if method == "DELETE" {
		short = "stop sharing an image with a project"
	}
	return &cobra.Command{Use: verb + " IMAGE PROJECT", Short: short, Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, a []string) error {
			path, in := imagePath(a[0])+"/members", any(map[string]string{"project": a[1]})
			if method == "DELETE" {
				path, in = path+"/"+url.PathEscape(a[1]), nil
			}
			var img images.Image
			if err := g.call(method, path, in, &img); err != nil {
				return err
			}
			return g.printImage(&img)
		}}
}

// isURL tells a URL from a local path: anything with a scheme goes to the daemon, which accepts
// only http and https.
func isURL(s string) bool { return strings.Contains(s, "://") }

func imagePath(ref string) string { return "/api/v1/images/" + url.PathEscape(ref) }

var imageHeader = []string{"NAME", "STATUS", "FORMAT", "SIZE", "VISIBILITY", "ID"}

func imageRow(i *images.Image) []string {
	return []string{i.Name, i.Status, i.DiskFormat, strconv.FormatInt(i.Size, 10), i.Visibility, i.ID}
}

func (g *globals) printImage(img *images.Image) error {
	return g.print(img, imageHeader, [][]string{imageRow(img)})
}

func newImageListCmd(g *globals) *cobra.Command {
	var status string
	cmd := &cobra.Command{Use: "list", Short: "list images: your project's, public ones, and accepted shares", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return imageList(g, status) }}
	cmd.Flags().StringVar(&status, "member-status", "", "list the shares with this status instead of accepted ones: pending, rejected or all")
	return cmd
}

func imageList(g *globals, memberStatus string) error {
	path := "/api/v1/images"
	if memberStatus != "" {
		path += "?member_status=" + url.QueryEscape(memberStatus)
	}
	var out []*images.Image
	if err := g.call("GET", path, nil, &out); err != nil {
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
	if err := g.call("GET", imagePath(ref), nil, &img); err != nil {
		return err
	}
	return g.printImage(&img)
}

// absPath makes a local path absolute for the daemon ("" stays "").
func absPath(p string) string {
	if p == "" {
		return ""
	}
	v, _ := filepath.Abs(p)
	return v
}
