package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/identity"
	"cloudlet/images"
)

// listImages serves GET /api/v1/images[?member_status=pending|accepted|rejected|all]: the project's
// own images, the public ones, and those shared with it whose membership has that status (accepted
// by default, as in Glance).
func (s *Server) listImages(c echo.Context) error {
	status := c.QueryParam("member_status")
	if status == "" {
		status = images.MemberAccepted
	}
	out, err := s.opts.Images.ListShared(c.Request().Context(), s.project(c), status)
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

// deleteImage has the image service delete an image; it refuses one a volume stands on itself, in
// its delete's transaction (images.UsedBy, 409).
func (s *Server) deleteImage(c echo.Context) error {
	if err := s.opts.Images.Delete(c.Request().Context(), s.project(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// imageAttrs are the attributes every way of making an image takes.
type imageAttrs struct {
	Name            string            `json:"name"`
	DiskFormat      string            `json:"disk_format"`
	ContainerFormat string            `json:"container_format"`
	Firmware        string            `json:"firmware"`
	Visibility      string            `json:"visibility"`
	MinDiskGiB      int               `json:"min_disk_gib"`
	MinRAMMiB       int               `json:"min_ram_mib"`
	Protected       bool              `json:"protected"`
	Properties      map[string]string `json:"properties"`
	Tags            []string          `json:"tags"`
}

func (a imageAttrs) request(projectID string) images.CreateRequest {
	return images.CreateRequest{
		ProjectID: projectID, Name: a.Name, DiskFormat: a.DiskFormat, ContainerFormat: a.ContainerFormat,
		Firmware: a.Firmware, Visibility: a.Visibility, MinDiskGiB: a.MinDiskGiB, MinRAMMiB: a.MinRAMMiB,
		Protected: a.Protected, Properties: a.Properties, Tags: a.Tags,
	}
}

// createImage serves POST /api/v1/images: a queued record waiting for PUT .../file.
func (s *Server) createImage(c echo.Context) error {
	var r imageAttrs
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if err := s.authorizeVisibility(c, r.Visibility); err != nil {
		return err
	}
	img, err := s.opts.Images.Create(c.Request().Context(), r.request(s.project(c)))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, img)
}

// importURLRequest is POST /api/v1/images/import: an image downloaded from an http(s) URL.
type importURLRequest struct {
	imageAttrs
	URL      string `json:"url"`
	Checksum string `json:"checksum"` // optional sha256, hex
}

// importImageURL answers 202 with the queued record; the download runs in the background and
// the record says how it goes (bytes_received, then active or killed with fault).
func (s *Server) importImageURL(c echo.Context) error {
	var r importURLRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if err := s.authorizeVisibility(c, r.Visibility); err != nil {
		return err
	}
	img, err := s.opts.Images.ImportURL(c.Request().Context(), images.ImportURLRequest{
		CreateRequest: r.request(s.project(c)), URL: r.URL, Checksum: r.Checksum,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, img)
}

// importIntoRequest is POST /api/v1/images/{id}/import: the data of a queued image, downloaded from
// an http(s) URL (Glance's web-download import).
type importIntoRequest struct {
	URL      string `json:"url"`
	Checksum string `json:"checksum"` // optional sha256, hex
}

// importImageURLInto answers 202 with the image; the download runs in the background, as for
// importImageURL.
func (s *Server) importImageURLInto(c echo.Context) error {
	var r importIntoRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	img, err := s.opts.Images.ImportURLInto(c.Request().Context(), s.project(c), c.Param("id"), r.URL, r.Checksum)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, img)
}

// importFileRequest is POST /api/v1/images/import-file: an image from files on the daemon's host (admin).
type importFileRequest struct {
	Name            string            `json:"name"`
	Path            string            `json:"path"`
	DiskFormat      string            `json:"disk_format"`
	ContainerFormat string            `json:"container_format"`
	KernelPath      string            `json:"kernel_path"`
	InitrdPath      string            `json:"initrd_path"`
	Cmdline         string            `json:"cmdline"`
	Firmware        string            `json:"firmware"`
	Visibility      string            `json:"visibility"`
	MinDiskGiB      int               `json:"min_disk_gib"`
	MinRAMMiB       int               `json:"min_ram_mib"`
	Protected       bool              `json:"protected"`
	Properties      map[string]string `json:"properties"`
}

func (s *Server) importImageFile(c echo.Context) error {
	var r importFileRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if err := s.authorizeVisibility(c, r.Visibility); err != nil {
		return err
	}
	img, err := s.opts.Images.ImportFile(c.Request().Context(), images.ImportFileRequest{
		ProjectID: s.project(c), Name: r.Name, Path: r.Path, DiskFormat: r.DiskFormat, ContainerFormat: r.ContainerFormat,
		KernelPath: r.KernelPath, InitrdPath: r.InitrdPath, Cmdline: r.Cmdline, Firmware: r.Firmware,
		Visibility: r.Visibility, MinDiskGiB: r.MinDiskGiB, MinRAMMiB: r.MinRAMMiB,
		Protected: r.Protected, Properties: r.Properties,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, img)
}

// memberRequest is POST /api/v1/images/{id}/members.
type memberRequest struct {
	Project string `json:"project"`
}

func (s *Server) addImageMember(c echo.Context) error {
	var r memberRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	img, err := s.opts.Images.AddMember(c.Request().Context(), s.project(c), c.Param("id"), r.Project)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, img)
}

func (s *Server) removeImageMember(c echo.Context) error {
	img, err := s.opts.Images.RemoveMember(c.Request().Context(), s.project(c), c.Param("id"), c.Param("project"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, img)
}

// authorizeVisibility enforces image:publicize (admins only, as Glance's publicize_image) on a
// request body that asks for a public image: a public image is in every project's list and name
// lookups, so members share with named projects instead.
func (s *Server) authorizeVisibility(c echo.Context, visibility string) error {
	if visibility != images.VisibilityPublic {
		return nil
	}
	return identity.Authorize(s.principal(c), "image:publicize")
}

// imageMember is one membership of an image in the members routes' answers (Glance's shape).
type imageMember struct {
	ImageID   string `json:"image_id"`
	ProjectID string `json:"project_id"`
	Status    string `json:"status"`
}

// listImageMembers serves GET /api/v1/images/{id}/members: every member for the image's owner,
// only its own membership for a project it is shared with.
func (s *Server) listImageMembers(c echo.Context) error {
	ctx := c.Request().Context()
	img, err := s.opts.Images.Get(ctx, s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	out := make([]imageMember, 0, len(img.Members))
	for _, m := range img.Members {
		out = append(out, imageMember{ImageID: img.ID, ProjectID: m.ProjectID, Status: m.Status})
	}
	return c.JSON(http.StatusOK, out)
}

// memberStatusRequest is PUT /api/v1/images/{id}/members/{project}.
type memberStatusRequest struct {
	Status string `json:"status"`
}

// updateImageMember serves PUT /api/v1/images/{id}/members/{project} {"status": "accepted"}: the
// recipient project accepts, rejects (or sets back to pending) an image shared with it.
func (s *Server) updateImageMember(c echo.Context) error {
	var r memberStatusRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	m, err := s.opts.Images.SetMemberStatus(c.Request().Context(), s.project(c), c.Param("id"), c.Param("project"), r.Status)
	if err != nil {
		return err
	}
	img, err := s.opts.Images.Get(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, imageMember{ImageID: img.ID, ProjectID: m.ProjectID, Status: m.Status})
}

// updateImageRequest is PATCH /api/v1/images/{id}: absent fields stay as they are; properties are
// merged (a null value removes its key); tags, when given, replace the image's.
type updateImageRequest struct {
	Name       *string            `json:"name"`
	Visibility *string            `json:"visibility"`
	Protected  *bool              `json:"protected"`
	MinDiskGiB *int               `json:"min_disk_gib"`
	MinRAMMiB  *int               `json:"min_ram_mib"`
	Properties map[string]*string `json:"properties"`
	Tags       *[]string          `json:"tags"`
}

// updateImage serves PATCH /api/v1/images/{id}; making an image public needs image:publicize.
func (s *Server) updateImage(c echo.Context) error {
	var r updateImageRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if r.Visibility != nil {
		if err := s.authorizeVisibility(c, *r.Visibility); err != nil {
			return err
		}
	}
	img, err := s.opts.Images.Update(c.Request().Context(), s.project(c), c.Param("id"), images.UpdateRequest{
		Visibility: r.Visibility, Protected: r.Protected, MinDiskGiB: r.MinDiskGiB, MinRAMMiB: r.MinRAMMiB,
		Name: r.Name, Properties: r.Properties, Tags: r.Tags,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, img)
}
