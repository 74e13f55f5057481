package metering

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkInstanceFootprint reports the heap one instance costs the sampler once its history is
// full (a day of samples at 10 s: the hour series and the day series at their bounds), with one
// drive and one NIC: the figure B4's per-instance RSS grows by over a day.
func BenchmarkInstanceFootprint(b *testing.B) {
	const n = 200
	for range b.N {
		before := heapBytes()
		s, err := New(Options{Compute: newFakeCompute()})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
		for i := range n {
			t := &tracked{inst: Instance{ID: fmt.Sprintf("i-%03d", i), Name: "web", ProjectID: "p", PID: 100 + i, PIDStart: 1,
				Taps: []string{fmt.Sprintf("clt-%010d", i)}}}
			s.instances[t.inst.ID] = t
			for k := range 24 * 360 {
				s.store(t, &Sample{Time: start.Add(time.Duration(k) * 10 * time.Second), PIDStart: 1, CPUSeconds: float64(k),
					RSSBytes: 1 << 27, Drives: []BlockStat{{Drive: "disk-root", WriteBytes: uint64(k) << 12}},
					NICs: []NICStat{{Interface: t.inst.Taps[0], ReceiveBytes: uint64(k) << 10}}})
			}
			if len(t.hist.fine.slots) != 360 || len(t.hist.coarse.slots) != 287 {
				b.Fatalf("history of %d and %d points", len(t.hist.fine.slots), len(t.hist.coarse.slots))
			}
		}
		b.ReportMetric(float64(heapBytes()-before)/n, "bytes/instance")
		runtime.KeepAlive(s)
	}
}

func heapBytes() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
