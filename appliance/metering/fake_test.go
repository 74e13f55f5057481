package metering

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeCompute answers from fixed instances and drive counters; an instance in frozen blocks in
// BlockStats until its channel is closed or the caller gives up, as a SIGSTOPped QEMU would.
type fakeCompute struct {
	mu      sync.Mutex
	list    []Instance
	drives  map[string][]BlockStat
	frozen  map[string]chan struct{}
	entered chan string // every BlockStats call sends the instance id here (buffered)
	calls   map[string]int
}

func newFakeCompute(list ...Instance) *fakeCompute {
	return &fakeCompute{list: list, drives: map[string][]BlockStat{}, frozen: map[string]chan struct{}{},
		entered: make(chan string, 64), calls: map[string]int{}}
}

func (f *fakeCompute) Instances(context.Context) ([]Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Instance(nil), f.list...), nil
}

func (f *fakeCompute) BlockStats(ctx context.Context, id string) ([]BlockStat, error) {
	f.mu.Lock()
	f.calls[id]++
	frozen, d := f.frozen[id], f.drives[id]
	f.mu.Unlock()
	f.entered <- id
	if frozen != nil {
		select {
		case <-frozen:
		case <-ctx.Done():
			return nil, fmt.Errorf("instance %s is busy: %w", id, ctx.Err())
		}
	}
	return d, nil
}

func (f *fakeCompute) set(list ...Instance) {
	f.mu.Lock()
	f.list = list
	f.mu.Unlock()
}

func (f *fakeCompute) setDrives(id string, d ...BlockStat) {
	f.mu.Lock()
	f.drives[id] = d
	f.mu.Unlock()
}

func (f *fakeCompute) callsOf(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[id]
}

// procFixture is a fake /proc.
type procFixture struct {
	t   *testing.T
	dir string
}

func newProcFixture(t *testing.T) *procFixture {
	p := &procFixture{t: t, dir: t.TempDir()}
	p.host(1000, 5000)
	return p
}

// process writes /proc/<pid>/stat and statm: utime and stime in ticks, start tick, resident pages.
func (p *procFixture) process(pid int, utime, stime, start, pages uint64) {
	d := filepath.Join(p.dir, fmt.Sprint(pid))
	must(p.t, os.MkdirAll(d, 0o755))
	stat := fmt.Sprintf("%d (qemu-system-x86) S 1 %d %d 0 -1 4194624 100 0 0 0 %d %d 0 0 20 0 5 0 %d 1000000 %d 18446744073709551615\n",
		pid, pid, pid, utime, stime, start, pages)
	must(p.t, os.WriteFile(filepath.Join(d, "stat"), []byte(stat), 0o644))
	must(p.t, os.WriteFile(filepath.Join(d, "statm"), []byte(fmt.Sprintf("250000 %d 1000 100 0 2000 0\n", pages)), 0o644))
}

// host writes /proc/stat (busy and idle ticks) and /proc/meminfo.
func (p *procFixture) host(busy, idle uint64) {
	stat := fmt.Sprintf("cpu  %d 0 0 %d 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n", busy, idle)
	must(p.t, os.WriteFile(filepath.Join(p.dir, "stat"), []byte(stat), 0o644))
	must(p.t, os.WriteFile(filepath.Join(p.dir, "meminfo"), []byte("MemTotal:       8000000 kB\nMemFree:  100 kB\nMemAvailable:   6000000 kB\n"), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeLinks returns fixed tap counters.
type fakeLinks struct {
	mu sync.Mutex
	m  map[string]NICStat
}

func (l *fakeLinks) stats(name string) (NICStat, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st, ok := l.m[name]
	if !ok {
		return NICStat{}, fmt.Errorf("link %s not found", name)
	}
	st.Interface = name
	return st, nil
}

func (l *fakeLinks) set(name string, st NICStat) {
	l.mu.Lock()
	l.m[name] = st
	l.mu.Unlock()
}

// rig is a sampler over fakes whose samples a test waits for.
type rig struct {
	*Sampler
	compute *fakeCompute
	proc    *procFixture
	clock   *fakeClock
	links   *fakeLinks
	sampled chan string
}

func newRig(t *testing.T, o Options, list ...Instance) *rig {
	r := &rig{compute: newFakeCompute(list...), proc: newProcFixture(t),
		clock: &fakeClock{t: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)},
		links: &fakeLinks{m: map[string]NICStat{}}, sampled: make(chan string, 64)}
	o.Compute, o.Proc, o.Now, o.Links = r.compute, r.proc.dir, r.clock.Now, r.links.stats
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.afterSample = func(id string) { r.sampled <- id }
	r.Sampler = s
	t.Cleanup(s.Close)
	return r
}

// round runs one round and waits until the instances named have each been sampled once.
func (r *rig) round(t *testing.T, ids ...string) {
	t.Helper()
	r.Round(context.Background())
	r.waitSampled(t, ids...)
}

func (r *rig) waitSampled(t *testing.T, ids ...string) {
	t.Helper()
	want := map[string]int{}
	for _, id := range ids {
		want[id]++
	}
	for len(want) > 0 {
		id := <-r.sampled
		if want[id]--; want[id] <= 0 {
			delete(want, id)
		}
	}
}
