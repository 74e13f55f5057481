package metering

import "time"

// InstanceStats is what GET /api/v1/instances/{id}/stats answers: the last sample's counters and
// rates, the last hour at the sample interval and the last day at the coarse step.
type InstanceStats struct {
	InstanceID       string  `json:"instance_id"`
	Running          bool    `json:"running"`
	SampleAgeSeconds float64 `json:"sample_age_seconds,omitempty"` // how old Sample is: a frozen QEMU's grows
	Sample           *Sample `json:"sample,omitempty"`             // nil while no QEMU runs
	Latest           *Point  `json:"latest,omitempty"`             // the rates of the last step
	Hour             Series  `json:"hour"`
	Day              Series  `json:"day"`
}

// Stats returns instance id's usage from the cache; it never waits on a QEMU. An instance the
// sampler has not seen yet (or no more) has empty series.
func (s *Sampler) Stats(id string) InstanceStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := InstanceStats{InstanceID: id, Hour: s.series(nil, false), Day: s.series(nil, true)}
	t := s.instances[id]
	if t == nil {
		return out
	}
	out.Running, out.Hour, out.Day = t.inst.PID != 0, s.series(t.hist, false), s.series(t.hist, true)
	if t.sample != nil {
		c := *t.sample
		out.Sample, out.SampleAgeSeconds = &c, s.o.Now().Sub(c.Time).Seconds()
	}
	if t.hist != nil && t.sample != nil {
		if p, ok := t.hist.last(); ok {
			out.Latest = &p
		}
	}
	return out
}

// series copies one resolution of h (nil: empty).
func (s *Sampler) series(h *history, coarse bool) Series {
	out := Series{IntervalSeconds: s.o.Interval.Seconds(), Points: []Point{}}
	if coarse {
		out.IntervalSeconds = s.o.Coarse.Seconds()
	}
	switch {
	case h == nil:
	case coarse:
		out.Points = h.coarse.points()
	default:
		out.Points = h.fine.points()
	}
	return out
}

// HostStats is what GET /api/v1/host/stats answers (the web layer adds the data dir's disk).
type HostStats struct {
	Time                 time.Time `json:"time"`
	CPUPercent           float64   `json:"cpu_percent"` // of all the host's cores: 100 is every core busy
	MemoryTotalBytes     uint64    `json:"memory_total_bytes"`
	MemoryAvailableBytes uint64    `json:"memory_available_bytes"`
	RunningInstances     int       `json:"running_instances"`
	// Instances sums the running instances' last rates and memory.
	Instances Point `json:"instances"`
	// Hour and Day: cpu_percent and memory_bytes are the host's (memory in use), the disk and network
	// rates the instances' sums.
	Hour Series `json:"hour"`
	Day  Series `json:"day"`
}

// HostStats returns the host's figures of the last round; it never waits on a QEMU.
func (s *Sampler) HostStats() HostStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.host.last
	h.Hour, h.Day = s.series(s.host.hist, false), s.series(s.host.hist, true)
	return h
}
