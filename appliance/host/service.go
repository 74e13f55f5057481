package host

import (
	"context"
	"os"
	"time"
)

// Info is what `GET /api/v1/host` reports.
type Info struct {
	Version       string    `json:"version"`
	StartedAt     time.Time `json:"started_at"`
	UptimeSeconds int64     `json:"uptime_seconds"`
	Facts
	DataDir      string    `json:"data_dir"`
	Disk         DiskSpace `json:"disk"`
	CatalogBytes int64     `json:"catalog_bytes"`
}

// Service answers host questions from facts gathered once at start plus cheap live reads (statfs).
type Service struct {
	version     string
	facts       Facts
	dataDir     string
	catalogPath string
	probes      Probes
	now         func() time.Time
	started     time.Time
}

// NewService returns a host service; now is the clock (time.Now in production).
func NewService(version string, facts Facts, dataDir, catalogPath string, p Probes, now func() time.Time) *Service {
	return &Service{version: version, facts: facts, dataDir: dataDir, catalogPath: catalogPath, probes: p, now: now, started: now()}
}

// Doctor runs the doctor's checks from inside the daemon, with this service's probes.
func (s *Service) Doctor(ctx context.Context, in DoctorInput) []Check {
	in.Serving = true
	return Doctor(ctx, s.probes, in)
}

// Facts returns the facts gathered at start.
func (s *Service) Facts() Facts { return s.facts }

// Info reports the host's state now. It never calls QEMU.
func (s *Service) Info() Info {
	info := Info{
		Version:       s.version,
		StartedAt:     s.started,
		UptimeSeconds: int64(s.now().Sub(s.started) / time.Second),
		Facts:         s.facts,
		DataDir:       s.dataDir,
	}
	if space, err := s.probes.Statfs(s.dataDir); err == nil {
		info.Disk = space
	}
	if st, err := os.Stat(s.catalogPath); err == nil {
		info.CatalogBytes = st.Size()
	}
	return info
}
