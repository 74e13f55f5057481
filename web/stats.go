package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/host"
	"cloudlet/appliance/metering"
)

// Stats is what the usage routes read: the sampler's cache, which never waits on a QEMU.
type Stats interface {
	Stats(instanceID string) metering.InstanceStats
	HostStats() metering.HostStats
}

// instanceStats serves GET /api/v1/instances/{id}/stats: the instance (id or name) is looked up
// in the caller's project first, so another project's is a 404 like any other route's.
func (s *Server) instanceStats(c echo.Context) error {
	if s.opts.Stats == nil {
		return fault.New(fault.Unavailable, "usage sampling is off (sample_instances)")
	}
	inst, err := s.opts.Compute.Get(c.Request().Context(), s.project(c), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.opts.Stats.Stats(inst.ID))
}

// hostStatsAnswer is GET /api/v1/host/stats: the sampler's host figures and the data dir's disk.
type hostStatsAnswer struct {
	metering.HostStats
	DataDir string         `json:"data_dir"`
	Disk    host.DiskSpace `json:"disk"`
}

func (s *Server) hostStats(c echo.Context) error {
	if s.opts.Stats == nil {
		return fault.New(fault.Unavailable, "usage sampling is off (sample_instances)")
	}
	info := s.opts.Host.Info()
	return c.JSON(http.StatusOK, hostStatsAnswer{HostStats: s.opts.Stats.HostStats(), DataDir: info.DataDir, Disk: info.Disk})
}
