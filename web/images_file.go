package web

import (
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"cloudlet/web/openstack"
	"cloudlet/web/ui"
)

// ImageChecksumHeader carries the sha256 (hex) of the whole disk file on GET /api/v1/images/{id}/file.
const ImageChecksumHeader = "X-Image-Checksum-Sha256"

// imageFilePath is the route of an image's data: PUT uploads it, GET downloads it.
const imageFilePath = "/api/v1/images/:id/file"

// bodyLimit is the cap on a request's body: the image service's upload cap for uploads (the API's,
// the dashboard's and Glance's; they stream to disk, never into memory), the API's JSON cap for everything else.
func (s *Server) bodyLimit(c echo.Context) int64 {
	if c.Request().Method == http.MethodPut && (c.Path() == imageFilePath || c.Path() == echoPath(ui.ImageUploadPattern) ||
		c.Path() == echoPath(openstack.ImageFilePattern)) {
		return s.opts.Images.MaxUploadBytes()
	}
	return s.maxBody
}

// uploadBody is an upload's request body whose blocked reads a deadline can end
// (images.ReadDeadliner): the image service fails a sender under the minimum rate, and stops an
// upload whose image is deleted, even while a read waits.
type uploadBody struct {
	io.Reader
	rc *http.ResponseController
}

func (b uploadBody) SetReadDeadline(t time.Time) error { return b.rc.SetReadDeadline(t) }

// uploadImage serves PUT /api/v1/images/{id}/file: the body is the image's data, streamed to the
// image service as it arrives. The answer is the active image, or the error that killed it.
func (s *Server) uploadImage(c echo.Context) error {
	body := uploadBody{Reader: c.Request().Body, rc: http.NewResponseController(c.Response().Writer)}
	img, err := s.opts.Images.Upload(c.Request().Context(), s.project(c), c.Param("id"), body)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, img)
}

// downloadImage serves GET /api/v1/images/{id}/file: an active image's disk, with its length,
// its sha256 in ImageChecksumHeader, and Range support for resuming.
func (s *Server) downloadImage(c echo.Context) error {
	f, img, err := s.opts.Images.Download(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "application/octet-stream")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+img.Name+"."+img.DiskFormat+`"`) // names are [a-z0-9-]
	h.Set(ImageChecksumHeader, img.Checksum)
	http.ServeContent(c.Response(), c.Request(), "", img.UpdatedAt, f)
	return nil
}
