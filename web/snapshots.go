package web

import (
	"net/http"
	"path/filepath"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/volume"
	"cloudlet/images"
)

// snapshotRequest is POST /api/v1/volumes/{id}/snapshots.
type snapshotRequest struct {
	Name string `json:"name"`
}

// listSnapshots serves GET /api/v1/snapshots (all of the caller's) and
// GET /api/v1/volumes/{id}/snapshots (one volume's).
func (s *Server) listSnapshots(c echo.Context) error {
	out, err := s.opts.Volumes.Snapshots(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	views := make([]*volume.Snapshot, 0, len(out))
	for _, sn := range out {
		views = append(views, s.viewSnapshot(c, sn))
	}
	return c.JSON(http.StatusOK, views)
}

func (s *Server) createSnapshot(c echo.Context) error {
	var r snapshotRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	sn, err := s.snapshotDisk(c.Request().Context(), s.project(c), c.Param("id"), r.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s.viewSnapshot(c, sn))
}

// viewSnapshot hides the snapshot's host files from non-admins, like viewVolume.
func (s *Server) viewSnapshot(c echo.Context, sn *volume.Snapshot) *volume.Snapshot {
	if s.isAdmin(c) {
		return sn
	}
	hidden := *sn
	hidden.Path, hidden.Backing, hidden.BackingFormat = "", "", ""
	return &hidden
}

func (s *Server) showSnapshot(c echo.Context) error {
	sn, err := s.opts.Volumes.Snapshot(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.viewSnapshot(c, sn))
}

// updateSnapshot serves PATCH /api/v1/snapshots/{id} {name?, description?}.
func (s *Server) updateSnapshot(c echo.Context) error {
	var r volume.SnapshotUpdate
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	sn, err := s.opts.Volumes.UpdateSnapshot(c.Request().Context(), s.project(c), c.Param("id"), r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.viewSnapshot(c, sn))
}

func (s *Server) deleteSnapshot(c echo.Context) error {
	if err := s.opts.Volumes.DeleteSnapshot(c.Request().Context(), s.project(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// snapshotImage serves POST /api/v1/snapshots/{id}/image {name}: the snapshot's data, flattened into
// one standalone file, becomes an image of the caller's project (inspected like any other import).
func (s *Server) snapshotImage(c echo.Context) error {
	var r snapshotRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	ctx := c.Request().Context()
	path, cleanup, err := s.opts.Volumes.ExportSnapshot(ctx, s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	defer cleanup()
	img, err := s.opts.Images.ImportFileFrom(ctx, filepath.Dir(path), images.ImportFileRequest{ProjectID: s.project(c), Name: r.Name,
		Path: filepath.Base(path), DiskFormat: "qcow2", Properties: map[string]string{"source_snapshot": c.Param("id")}})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, img)
}
