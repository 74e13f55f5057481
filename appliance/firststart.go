package appliance

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"cloudlet/images"
	"cloudlet/store"
)

// firstStartImage splits FirstStartImage into the image's name and the disk's absolute path ("" when
// none is set).
func (c *Config) firstStartImage() (name, path string, err error) {
	if c.FirstStartImage == "" {
		return "", "", nil
	}
	name, path, ok := strings.Cut(c.FirstStartImage, "=")
	if !ok || store.ValidateName(name) != nil || !filepath.IsAbs(path) {
		return "", "", fmt.Errorf("config: first start image %q: want NAME=/absolute/path/to/disk.qcow2", c.FirstStartImage)
	}
	return name, filepath.Clean(path), nil
}

// importFirstStartImage imports the first start image, public, into the admin project, on the first
// start only (the start that made the admin password). A failure is logged, not fatal: the daemon
// is useful without it.
func (a *Appliance) importFirstStartImage(adminProject string) {
	name, path, _ := a.cfg.firstStartImage() // checked in Normalize
	if name == "" || a.adminPass == "" {
		return
	}
	img, err := a.images.ImportFileFrom(context.Background(), filepath.Dir(path), images.ImportFileRequest{
		ProjectID: adminProject, Name: name, Path: filepath.Base(path), DiskFormat: "qcow2",
		Visibility: images.VisibilityPublic})
	if err != nil {
		a.log.Warn("first start image not imported", "name", name, "path", path, "err", err)
		return
	}
	a.firstImage = img.Name
	a.log.Info("first start image imported", "name", img.Name, "id", img.ID, "path", path)
}

// FirstStartImage is the name of the image imported on this (first) start, or "".
func (a *Appliance) FirstStartImage() string { return a.firstImage }
