package appliance

import (
	"context"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/metering"
	"cloudlet/appliance/network/link"
	"cloudlet/web"
)

// openMetering starts the sampler of per-instance usage (sample_instances) and registers its
// collector in the registry GET /metrics serves. Its goroutine stops in release.
func (a *Appliance) openMetering() error {
	if !a.cfg.SampleInstances {
		return nil
	}
	s, err := metering.New(metering.Options{Compute: meteringCompute{a.compute}, Log: a.log,
		Interval: time.Duration(a.cfg.SampleInterval)})
	if err != nil {
		return err
	}
	if err := a.metrics.Register(s); err != nil {
		return err
	}
	a.sampler = s
	s.Start()
	return nil
}

// meteringCompute adapts compute to what the sampler needs of it.
type meteringCompute struct{ c *compute.Service }

// Instances lists every instance of every project from the catalog, with its QEMU and taps.
func (m meteringCompute) Instances(ctx context.Context) ([]metering.Instance, error) {
	list, err := m.c.List(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]metering.Instance, 0, len(list))
	for _, inst := range list {
		mi := metering.Instance{ID: inst.ID, Name: inst.Name, ProjectID: inst.ProjectID, PID: inst.PID, PIDStart: inst.PIDStartTime,
			Busy: inst.TaskState != compute.TaskNone}
		for _, port := range inst.PortIDs {
			mi.Taps = append(mi.Taps, link.TapName(port))
		}
		out = append(out, mi)
	}
	return out, nil
}

// BlockStats asks the instance's QEMU for its drives' counters through its supervisor.
func (m meteringCompute) BlockStats(ctx context.Context, id string) ([]metering.BlockStat, error) {
	stats, err := m.c.BlockStats(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]metering.BlockStat, len(stats))
	for i, s := range stats {
		out[i] = metering.BlockStat{Drive: s.Drive, ReadBytes: s.ReadBytes, WriteBytes: s.WriteBytes, ReadOps: s.ReadOps, WriteOps: s.WriteOps}
	}
	return out, nil
}

// stats is what the stats routes read: the sampler, or nil (they answer 503) when it is off.
func (a *Appliance) stats() web.Stats {
	if a.sampler == nil {
		return nil
	}
	return a.sampler
}
