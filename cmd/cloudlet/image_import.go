package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/images"
)

// importLimit bounds how long `image import URL` waits for the daemon's download.
const importLimit = 24 * time.Hour

func newImageImportCmd(g *globals) *cobra.Command {
	var a imageAttrs
	var f struct {
		KernelPath string `json:"kernel_path,omitempty"`
		InitrdPath string `json:"initrd_path,omitempty"`
		Cmdline    string `json:"cmdline,omitempty"`
		Checksum   string
		NoWait     bool
	}
	cmd := &cobra.Command{Use: "import NAME URL|FILE",
		Short: "import an image from an http(s) URL (the daemon downloads it) or a file on the daemon's host (admin)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Name = args[0]
			a.finish(cmd)
			if isURL(args[1]) {
				return g.importURL(a, args[1], f.Checksum, !f.NoWait)
			}
			req := struct {
				imageAttrs
				Path       string `json:"path"`
				KernelPath string `json:"kernel_path,omitempty"`
				InitrdPath string `json:"initrd_path,omitempty"`
				Cmdline    string `json:"cmdline,omitempty"`
			}{a, absPath(args[1]), absPath(f.KernelPath), absPath(f.InitrdPath), f.Cmdline}
			var img images.Image
			if err := g.call("POST", "/api/v1/images/import-file", req, &img); err != nil {
				return err
			}
			return g.printImage(&img)
		}}
	a.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&f.KernelPath, "kernel", "", "FILE only: kernel for direct boot")
	fs.StringVar(&f.InitrdPath, "initrd", "", "FILE only: initrd for direct boot")
	fs.StringVar(&f.Cmdline, "cmdline", "", "FILE only: kernel command line for direct boot")
	fs.StringVar(&f.Checksum, "checksum", "", "URL only: expected sha256 of the download")
	fs.BoolVar(&f.NoWait, "no-wait", false, "URL only: return once the import is queued")
	return cmd
}

// importURL asks the daemon to download url, then follows the record, drawing the progress on
// stderr, until the image is active or killed.
func (g *globals) importURL(a imageAttrs, url, checksum string, wait bool) error {
	req := struct {
		imageAttrs
		URL      string `json:"url"`
		Checksum string `json:"checksum,omitempty"`
	}{a, url, checksum}
	var img images.Image
	if err := g.call("POST", "/api/v1/images/import", req, &img); err != nil {
		return err
	}
	if wait {
		done, err := g.followImport(img.ID, a.Name)
		if err != nil {
			return err
		}
		img = *done
	}
	if err := g.printImage(&img); err != nil {
		return err
	}
	if img.Status == images.StatusKilled {
		return fmt.Errorf("import of image %s failed: %s", img.Name, img.Fault)
	}
	return nil
}

// followImport polls an image until it settles, with a progress line on stderr.
func (g *globals) followImport(id, name string) (*images.Image, error) {
	ctx, cancel := context.WithTimeout(context.Background(), importLimit)
	defer cancel()
	p := newProgressLine(g.stderr, "import "+name, 0)
	defer p.done()
	for {
		var img images.Image
		if err := g.client().Do(ctx, "GET", imagePath(id), nil, &img); err != nil {
			return nil, err
		}
		p.set(img.BytesReceived, img.Status)
		if img.Status == images.StatusActive || img.Status == images.StatusKilled {
			return &img, nil
		}
		if err := pause(ctx); err != nil {
			return nil, fmt.Errorf("wait for image %s: %w", name, err)
		}
	}
}
