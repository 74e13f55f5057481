package metering

import (
	"math"
	"time"
)

// History lengths: an hour of samples, a day of coarse points.
const (
	fineSpan   = time.Hour
	coarseSpan = 24 * time.Hour
	maxFine    = 3600 // an hour even at a 1 s interval; never more points than this
)

// Point is one step of a usage series: rates over the step, memory at its end.
type Point struct {
	Time             time.Time `json:"time"`
	CPUPercent       float64   `json:"cpu_percent"` // 100 is one core busy
	MemoryBytes      float64   `json:"memory_bytes"`
	DiskReadBytes    float64   `json:"disk_read_bytes_per_second"`
	DiskWriteBytes   float64   `json:"disk_write_bytes_per_second"`
	DiskReadOps      float64   `json:"disk_read_iops"`
	DiskWriteOps     float64   `json:"disk_write_iops"`
	NetReceiveBytes  float64   `json:"network_receive_bytes_per_second"`
	NetTransmitBytes float64   `json:"network_transmit_bytes_per_second"`
}

// Series is one resolution of a history, oldest point first.
type Series struct {
	IntervalSeconds float64 `json:"interval_seconds"`
	Points          []Point `json:"points"`
}

// nValues is the number of figures a point holds besides its time.
const nValues = 8

// slot is a point as stored: unix seconds and float32 figures, 36 bytes.
type slot struct {
	t uint32
	v [nValues]float32
}

func toSlot(p Point) slot {
	s := slot{t: uint32(p.Time.Unix())}
	for i, x := range [nValues]float64{p.CPUPercent, p.MemoryBytes, p.DiskReadBytes, p.DiskWriteBytes,
		p.DiskReadOps, p.DiskWriteOps, p.NetReceiveBytes, p.NetTransmitBytes} {
		s.v[i] = float32(x)
	}
	return s
}

func (s slot) point() Point {
	f := func(i int) float64 { return float64(s.v[i]) }
	return Point{Time: time.Unix(int64(s.t), 0).UTC(), CPUPercent: f(0), MemoryBytes: f(1), DiskReadBytes: f(2),
		DiskWriteBytes: f(3), DiskReadOps: f(4), DiskWriteOps: f(5), NetReceiveBytes: f(6), NetTransmitBytes: f(7)}
}

// ring keeps the last max slots. It grows as points come (an instance sampled for a minute holds a
// minute), never past max, then overwrites the oldest.
type ring struct {
	slots []slot
	next  int // where the next slot goes once full
	max   int
}

func (r *ring) push(s slot) {
	if len(r.slots) < r.max {
		if len(r.slots) == cap(r.slots) {
			grown := make([]slot, len(r.slots), min(r.max, 2*cap(r.slots)+16))
			copy(grown, r.slots)
			r.slots = grown
		}
		r.slots = append(r.slots, s)
		return
	}
	r.slots[r.next] = s
	r.next = (r.next + 1) % r.max
}

// points returns the slots oldest first.
func (r *ring) points() []Point {
	out := make([]Point, 0, len(r.slots))
	for i := range r.slots {
		out = append(out, r.slots[(r.next+i)%len(r.slots)].point())
	}
	return out
}

// history is an instance's usage: every sample's rates for the last hour, and their averages per
// coarse step for the last day.
type history struct {
	fine, coarse ring
	step         int64 // coarse step, seconds
	bucket       int64 // the coarse step being averaged (unix seconds / step)
	sum          [nValues]float64
	n            int
}

func newHistory(interval, coarse time.Duration) *history {
	return &history{fine: ring{max: min(maxFine, spanPoints(fineSpan, interval))},
		coarse: ring{max: spanPoints(coarseSpan, coarse)}, step: int64(coarse / time.Second)}
}

func spanPoints(span, step time.Duration) int {
	return int(math.Ceil(float64(span) / float64(step)))
}

// add records one point; a point past the coarse step being averaged closes that step first.
func (h *history) add(p Point) {
	s := toSlot(p)
	h.fine.push(s)
	b := int64(s.t) / h.step
	if h.n > 0 && b != h.bucket {
		h.closeBucket()
	}
	h.bucket = b
	for i, v := range s.v {
		h.sum[i] += float64(v)
	}
	h.n++
}

// closeBucket adds the average of the step's points, stamped with the step's start.
func (h *history) closeBucket() {
	c := slot{t: uint32(h.bucket * h.step)}
	for i := range c.v {
		c.v[i] = float32(h.sum[i] / float64(h.n))
	}
	h.coarse.push(c)
	h.sum, h.n = [nValues]float64{}, 0
}

func (h *history) last() (Point, bool) {
	if len(h.fine.slots) == 0 {
		return Point{}, false
	}
	i := len(h.fine.slots) - 1
	if len(h.fine.slots) == h.fine.max {
		i = (h.fine.next + h.fine.max - 1) % h.fine.max
	}
	return h.fine.slots[i].point(), true
}
