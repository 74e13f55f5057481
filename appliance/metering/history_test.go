package metering

import (
	"testing"
	"time"
)

func TestRingKeepsTheLastMaxPointsOldestFirst(t *testing.T) {
	r := ring{max: 5}
	for i := range 12 {
		r.push(slot{t: uint32(i)})
	}
	if len(r.slots) != 5 || cap(r.slots) != 5 {
		t.Fatalf("ring holds %d slots in %d; want 5 in 5", len(r.slots), cap(r.slots))
	}
	pts := r.points()
	for i, p := range pts {
		if p.Time.Unix() != int64(7+i) {
			t.Fatalf("points %v: want times 7..11", pts)
		}
	}
}

func TestRingGrowsOnlyAsPointsCome(t *testing.T) {
	r := ring{max: 360}
	r.push(slot{})
	if cap(r.slots) > 16 {
		t.Fatalf("one point took room for %d", cap(r.slots))
	}
}

func TestHistoryBoundsAnHourAndADay(t *testing.T) {
	h := newHistory(10*time.Second, 5*time.Minute)
	if h.fine.max != 360 || h.coarse.max != 288 {
		t.Fatalf("hour holds %d points, day %d; want 360 and 288", h.fine.max, h.coarse.max)
	}
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for i := range 2 * 24 * 360 { // two days at 10 s
		h.add(Point{Time: start.Add(time.Duration(i) * 10 * time.Second), CPUPercent: 1})
	}
	if len(h.fine.slots) != 360 || len(h.coarse.slots) != 288 {
		t.Fatalf("after two days: %d fine, %d coarse points", len(h.fine.slots), len(h.coarse.slots))
	}
	pts := h.fine.points()
	if got := pts[len(pts)-1].Time.Sub(pts[0].Time); got != 359*10*time.Second {
		t.Fatalf("the hour series spans %v", got)
	}
}

func TestHistoryAveragesEachCoarseStep(t *testing.T) {
	h := newHistory(10*time.Second, 5*time.Minute)
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for i := range 30 { // the first 5 minutes: cpu 0..29, then one point of the next step
		h.add(Point{Time: start.Add(time.Duration(i) * 10 * time.Second), CPUPercent: float64(i), DiskWriteBytes: 1000})
	}
	if len(h.coarse.slots) != 0 {
		t.Fatal("a step was closed before it ended")
	}
	h.add(Point{Time: start.Add(5 * time.Minute), CPUPercent: 99})
	c := h.coarse.points()
	if len(c) != 1 || !c[0].Time.Equal(start) || c[0].CPUPercent != 14.5 || c[0].DiskWriteBytes != 1000 {
		t.Fatalf("coarse points %+v; want one at %v with cpu 14.5 (the mean of 0..29)", c, start)
	}
}
