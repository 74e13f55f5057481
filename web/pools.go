package web

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/volume"
)

// poolRequest is POST /api/v1/pools (admin).
type poolRequest struct {
	Name          string `json:"name"`
	Path          string `json:"path"`
	ClusterSize   int64  `json:"cluster_size"`  // 0: qcow2's default
	Preallocation string `json:"preallocation"` // off (default), metadata or full
	Default       bool   `json:"default"`
}

func (s *Server) listPools(c echo.Context) error {
	out, err := s.opts.Volumes.Pools(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) showPool(c echo.Context) error {
	p, err := s.opts.Volumes.Pool(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) createPool(c echo.Context) error {
	var r poolRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	pool := volume.Pool{Path: r.Path, ClusterSize: r.ClusterSize, Preallocation: r.Preallocation, Default: r.Default}
	pool.Name = r.Name // through store.Meta, which web does not import
	p, err := s.opts.Volumes.CreatePool(c.Request().Context(), pool)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, s.withStats(c.Request().Context(), p))
}

func (s *Server) deletePool(c echo.Context) error {
	if err := s.opts.Volumes.DeletePool(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// setDefaultPool serves POST /api/v1/pools/{id}/default; it takes no body (an empty object is fine).
func (s *Server) setDefaultPool(c echo.Context) error {
	if err := decodeOptionalJSON(c, &struct{}{}); err != nil {
		return err
	}
	p, err := s.opts.Volumes.SetDefaultPool(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.withStats(c.Request().Context(), p))
}

// withStats answers a pool that was just changed in the same shape as GET: with its capacity and
// usage. The change succeeded, so a failed re-read falls back to the record without figures.
func (s *Server) withStats(ctx context.Context, p *volume.Pool) *volume.PoolStats {
	if st, err := s.opts.Volumes.Pool(ctx, p.ID); err == nil {
		return st
	}
	return &volume.PoolStats{Pool: *p}
}
