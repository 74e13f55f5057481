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
	var f hostImport
	var checksum string
	var noWait bool
	cmd := &cobra.Command{Use: "import NAME URL|FILE",
		Short: "import an image from an http(s) URL (the daemon downloads it), a local file (streamed to the daemon), " +
			"or with --from-import-dir a file in the daemon's import directory (admin)",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Name = args[0]
			a.finish(cmd)
			switch {
			case isURL(args[1]):
				return g.importURL(a, args[1], checksum, !noWait)
			case f.FromImportDir:
				return g.importHostFile(a, args[1], f)
			case f.KernelPath != "" || f.InitrdPath != "" || f.Cmdline != "":
				return fmt.Errorf("--kernel, --initrd and --cmdline need --from-import-dir: the daemon reads a direct-boot " +
					"image's files from its import directory (import_dir, default <data-dir>/import)")
			}
			return g.importLocalFile(a, args[1])
		}}
	a.register(cmd)
	fs := cmd.Flags()
	fs.BoolVar(&f.FromImportDir, "from-import-dir", false, "FILE, --kernel and --initrd are files in the daemon's import directory: "+
		"names relative to it, or absolute paths inside it (admin)")
	fs.StringVar(&f.KernelPath, "kernel", "", "with --from-import-dir: kernel for direct boot")
	fs.StringVar(&f.InitrdPath, "initrd", "", "with --from-import-dir: initrd for direct boot")
	fs.StringVar(&f.Cmdline, "cmdline", "", "with --from-import-dir: kernel command line for direct boot")
	fs.StringVar(&checksum, "checksum", "", "URL only: expected sha256 of the download")
	fs.BoolVar(&noWait, "no-wait", false, "URL only: return once the import is queued")
	return cmd
}

// hostImport names files in the daemon's import directory.
type hostImport struct {
	FromImportDir bool   `json:"-"`
	KernelPath    string `json:"kernel_path,omitempty"`
	InitrdPath    string `json:"initrd_path,omitempty"`
	Cmdline       string `json:"cmdline,omitempty"`
}

// importLocalFile records the image and streams a local file into it, like `image upload`: it
// works for every user and whether the daemon runs on this host or not.
func (g *globals) importLocalFile(a imageAttrs, path string) error {
	if err := g.call("POST", "/api/v1/images", a, nil); err != nil {
		return err
	}
	img, err := g.upload(a.Name, path)
	if err != nil {
		return err
	}
	return g.printImage(img)
}

// importHostFile asks the daemon to import files from its import directory; the paths are passed
// as given, since they name the daemon's files, not this host's.
func (g *globals) importHostFile(a imageAttrs, path string, f hostImport) error {
	req := struct {
		imageAttrs
		hostImport
		Path string `json:"path"`
	}{a, f, path}
	var img images.Image
	if err := g.call("POST", "/api/v1/images/import-file", req, &img); err != nil {
		return err
	}
	return g.printImage(&img)
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
