package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/images"
)

func (s *Server) listImages(c echo.Context) error {
	out, err := s.opts.Images.List(c.Request().Context(), s.project(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) showImage(c echo.Context) error {
	img, err := s.opts.Images.Get(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, img)
}

func (s *Server) deleteImage(c echo.Context) error {
	if err := s.opts.Images.Delete(c.Request().Context(), s.project(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// importFileRequest is POST /api/v1/images/import-file: an image from files on the daemon's host (admin).
type importFileRequest struct {
	Name       string            `json:"name"`
	Path       string            `json:"path"`
	DiskFormat string            `json:"disk_format"`
	KernelPath string            `json:"kernel_path"`
	InitrdPath string            `json:"initrd_path"`
	Cmdline    string            `json:"cmdline"`
	Firmware   string            `json:"firmware"`
	Visibility string            `json:"visibility"`
	MinDiskGiB int               `json:"min_disk_gib"`
	MinRAMMiB  int               `json:"min_ram_mib"`
	Protected  bool              `json:"protected"`
	Properties map[string]string `json:"properties"`
}

func (s *Server) importImageFile(c echo.Context) error {
	var r importFileRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	img, err := s.opts.Images.ImportFile(c.Request().Context(), images.ImportFileRequest{
		ProjectID: s.project(c), Name: r.Name, Path: r.Path, DiskFormat: r.DiskFormat,
		KernelPath: r.KernelPath, InitrdPath: r.InitrdPath, Cmdline: r.Cmdline, Firmware: r.Firmware,
		Visibility: r.Visibility, MinDiskGiB: r.MinDiskGiB, MinRAMMiB: r.MinRAMMiB,
		Protected: r.Protected, Properties: r.Properties,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, img)
}
