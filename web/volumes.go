package web

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/volume"
)

// volumeView is a volume as the API shows it: the record, except that a pending transfer shows
// only its ID and time, never the hash of its auth key.
type volumeView struct {
	*volume.Volume
	Transfer *transferView `json:"transfer,omitempty"` // shadows volume.Volume.Transfer
}

type transferView struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
}

// viewVolume is a volume as the caller may see it: where its files are on the host (path, backing) is
// for admins only, as in Cinder.
func (s *Server) viewVolume(c echo.Context, v *volume.Volume) volumeView {
	if !s.isAdmin(c) {
		hidden := *v
		hidden.Path, hidden.Backing, hidden.BackingFormat = "", "", ""
		v = &hidden
	}
	out := volumeView{Volume: v}
	if t := v.Transfer; t != nil {
		out.Transfer = &transferView{ID: t.ID, CreatedAt: t.CreatedAt}
	}
	return out
}

// volumeRequest is POST /api/v1/volumes. At most one of image, snapshot and volume (a clone).
type volumeRequest struct {
	Name     string `json:"name"`
	Pool     string `json:"pool"`
	SizeGiB  int    `json:"size_gib"`
	Image    string `json:"image"`
	Snapshot string `json:"snapshot"`
	Volume   string `json:"volume"`
	FullCopy bool   `json:"full_copy"`
	Bootable *bool  `json:"bootable"` // absent: true from an image, the source's otherwise
	// Description and Metadata are the owner's words about the volume, kept as given.
	Description string            `json:"description"`
	Metadata    map[string]string `json:"metadata"`
}

func (s *Server) listVolumes(c echo.Context) error {
	vs, err := s.opts.Volumes.List(c.Request().Context(), s.project(c))
	if err != nil {
		return err
	}
	out := make([]volumeView, 0, len(vs))
	for _, v := range vs {
		out = append(out, s.viewVolume(c, v))
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) showVolume(c echo.Context) error {
	return s.answerVolume(c, http.StatusOK, c.Param("id"))
}

func (s *Server) createVolume(c echo.Context) error {
	var r volumeRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	req := volume.CreateRequest{
		Name: r.Name, Pool: r.Pool, SizeGiB: r.SizeGiB, ImageID: r.Image, SnapshotID: r.Snapshot,
		VolumeID: r.Volume, FullCopy: r.FullCopy, Bootable: r.Bootable, Description: r.Description, Metadata: r.Metadata,
	}
	create := s.opts.Volumes.Create
	if r.Volume != "" && !r.FullCopy && r.Image == "" && r.Snapshot == "" {
		create = s.cloneDisk // its snapshot may have to be taken by a running QEMU
	}
	v, err := create(c.Request().Context(), s.project(c), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s.viewVolume(c, v))
}

// updateVolume serves PATCH /api/v1/volumes/{id} {name?, description?, metadata?}: fields left out
// stay; metadata replaces the whole set.
func (s *Server) updateVolume(c echo.Context) error {
	var r volume.UpdateRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	v, err := s.opts.Volumes.Update(c.Request().Context(), s.project(c), c.Param("id"), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.viewVolume(c, v))
}

func (s *Server) deleteVolume(c echo.Context) error {
	if err := s.opts.Volumes.Delete(c.Request().Context(), s.project(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// attachRequest is POST /api/v1/volumes/{id}/attach.
type attachRequest struct {
	Instance            string `json:"instance"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
}

// attachVolume goes through compute, which owns the running QEMU (hotplug) or records a cold
// attach; the answer is the volume as the volume service now has it.
func (s *Server) attachVolume(c echo.Context) error {
	var r attachRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if r.Instance == "" {
		return fault.New(fault.Invalid, "attach volume %s: instance is required", c.Param("id"))
	}
	v, err := s.opts.Compute.AttachVolume(c.Request().Context(), s.project(c), r.Instance, c.Param("id"), r.DeleteOnTermination)
	if err != nil {
		return err
	}
	return s.answerVolume(c, http.StatusOK, v.ID)
}

// detachVolume serves POST /api/v1/volumes/{id}/detach; it takes no body (an empty object is fine).
func (s *Server) detachVolume(c echo.Context) error {
	if err := decodeOptionalJSON(c, &struct{}{}); err != nil {
		return err
	}
	v, err := s.opts.Compute.DetachVolume(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return s.answerVolume(c, http.StatusOK, v.ID)
}

// extendRequest is POST /api/v1/volumes/{id}/extend.
type extendRequest struct {
	SizeGiB int `json:"size_gib"`
}

func (s *Server) extendVolume(c echo.Context) error {
	var r extendRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	v, err := s.extendDisk(c.Request().Context(), s.project(c), c.Param("id"), r.SizeGiB)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.viewVolume(c, v))
}

// setVolumeQoS replaces the volume's limits; a field left out or 0 means unlimited.
func (s *Server) setVolumeQoS(c echo.Context) error {
	var q volume.QoS
	if err := decodeJSON(c, &q); err != nil {
		return err
	}
	v, err := s.setDiskQoS(c.Request().Context(), s.project(c), c.Param("id"), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.viewVolume(c, v))
}

// bootableRequest is POST /api/v1/volumes/{id}/bootable.
type bootableRequest struct {
	Bootable *bool `json:"bootable"`
}

func (s *Server) setVolumeBootable(c echo.Context) error {
	var r bootableRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if r.Bootable == nil {
		return fault.New(fault.Invalid, "bootable (true or false) is required")
	}
	v, err := s.opts.Volumes.SetBootable(c.Request().Context(), s.project(c), c.Param("id"), *r.Bootable)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.viewVolume(c, v))
}

// revertRequest is POST /api/v1/volumes/{id}/revert.
type revertRequest struct {
	Snapshot string `json:"snapshot"`
}

func (s *Server) revertVolume(c echo.Context) error {
	var r revertRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if r.Snapshot == "" {
		return fault.New(fault.Invalid, "revert volume %s: snapshot is required", c.Param("id"))
	}
	v, err := s.opts.Volumes.Revert(c.Request().Context(), s.project(c), c.Param("id"), r.Snapshot)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.viewVolume(c, v))
}

// answerVolume reads one of the caller's volumes and answers it with code.
func (s *Server) answerVolume(c echo.Context, code int, ref string) error {
	v, err := s.opts.Volumes.Get(c.Request().Context(), s.project(c), ref)
	if err != nil {
		return err
	}
	return c.JSON(code, s.viewVolume(c, v))
}

// decodeOptionalJSON is decodeJSON for routes whose body may be left out: no body is no
// arguments; a body that is there must be a valid JSON object of v's shape.
func decodeOptionalJSON(c echo.Context, v any) error {
	if c.Request().ContentLength == 0 {
		return nil
	}
	return decodeJSON(c, v)
}
