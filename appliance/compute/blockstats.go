package compute

import (
	"context"
	"fmt"
	"strings"
)

// BlockStat is one drive's I/O counters since its QEMU started, from QMP query-blockstats.
type BlockStat struct {
	Drive      string `json:"drive"` // the drive's block node ("disk-root"), or its qdev id
	ReadBytes  uint64 `json:"read_bytes"`
	WriteBytes uint64 `json:"write_bytes"`
	ReadOps    uint64 `json:"read_ops"`
	WriteOps   uint64 `json:"write_ops"`
}

// blockstatsEntry is the part of one query-blockstats entry BlockStats reads.
type blockstatsEntry struct {
	Device   string `json:"device"`
	NodeName string `json:"node-name"`
	QDev     string `json:"qdev"`
	Stats    struct {
		RdBytes uint64 `json:"rd_bytes"`
		WrBytes uint64 `json:"wr_bytes"`
		RdOps   uint64 `json:"rd_operations"`
		WrOps   uint64 `json:"wr_operations"`
	} `json:"stats"`
}

// BlockStats asks the running QEMU of instance id (any project: the caller is the daemon's sampler,
// never a request) for its drives' counters. It runs on the instance's supervisor, after whatever it
// is doing; ctx bounds only the wait. The QMP command itself is bounded by QMPTimeout and not by ctx,
// because a command abandoned mid-flight breaks the monitor: a caller that gives up early leaves the
// answer to arrive (or the monitor to be found silent, as the health check would) in its own time.
func (s *Service) BlockStats(ctx context.Context, id string) ([]BlockStat, error) {
	var entries []blockstatsEntry
	err := s.call(ctx, id, func(ctx context.Context, sv *supervisor) error {
		if sv.proc == nil {
			return ErrNotRunning
		}
		return sv.qmpCall(context.WithoutCancel(ctx), func(c context.Context) error {
			return sv.mon.Execute(c, "query-blockstats", nil, &entries)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("block stats of instance %s: %w", id, err)
	}
	out := make([]BlockStat, 0, len(entries))
	for _, e := range entries {
		name := driveName(e)
		if name == "" {
			continue
		}
		out = append(out, BlockStat{Drive: name, ReadBytes: e.Stats.RdBytes, WriteBytes: e.Stats.WrBytes,
			ReadOps: e.Stats.RdOps, WriteOps: e.Stats.WrOps})
	}
	return out, nil
}

// driveName names an entry: a legacy drive's id, else the -blockdev node at the top of the drive,
// else the qdev id of its device ("/machine/peripheral/<id>/virtio-backend"). An empty CD-ROM drive
// has none of these worth a series and is left out.
func driveName(e blockstatsEntry) string {
	switch {
	case e.Device != "":
		return e.Device
	case e.NodeName != "":
		return e.NodeName
	}
	rest, ok := strings.CutPrefix(e.QDev, "/machine/peripheral/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}
