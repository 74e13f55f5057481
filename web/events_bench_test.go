package web

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/store"
)

// benchSubscribers is how many streams the event stream benchmarks hold open (the 500).
const benchSubscribers = 500

// BenchmarkEventStream500 opens 500 event streams over loopback TCP and reports what each costs the
// process at rest (heap and goroutine stacks per subscriber: the server's handler and
// connection plus a minimal client, one goroutine and a 4 KiB reader), then times one event fanned
// out to all 500: committed, read once by the hub, written to 500 connections and read by 500
// clients (ns/op is per event; ns/sub per event and subscriber).
func BenchmarkEventStream500(b *testing.B) {
	db, addr := streamBenchServer(b)
	before := memNow()
	seen := make(chan uint64, benchSubscribers)
	var conns []net.Conn
	for range benchSubscribers {
		c, r := openRawStream(b, addr)
		conns = append(conns, c)
		go readSeqs(r, seen)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	after := memNow()
	var commits time.Duration // of the catalog alone, for comparison
	b.ResetTimer()
	for range b.N {
		e := &store.Event{Type: "thing.changed", ID: "x"}
		start := time.Now()
		if err := db.Update(func(tx *store.Tx) error { return store.AppendEvent(tx, e) }); err != nil {
			b.Fatal(err)
		}
		commits += time.Since(start)
		for range benchSubscribers {
			if seq := <-seen; seq != e.Seq {
				b.Fatalf("a subscriber read event %d, want %d", seq, e.Seq)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchSubscribers, "ns/sub")
	b.ReportMetric(float64(commits.Nanoseconds())/float64(b.N), "commit-ns/op")
	b.ReportMetric(float64(after.heap-before.heap)/benchSubscribers, "heap-B/sub")
	b.ReportMetric(float64(after.stack-before.stack)/benchSubscribers, "stack-B/sub")
}

// BenchmarkHubPublish500 is the hub's share of one event fanned out to 500 subscribers: matching
// and queueing it in each buffer (and each subscriber taking it out).
func BenchmarkHubPublish500(b *testing.B) {
	h := newEventHub(nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), DefaultStreamBuffer, DefaultMaxStreams)
	h.started = true // no reader: events are published by hand
	subs := make([]*subscriber, benchSubscribers)
	for i := range subs {
		subs[i] = &subscriber{filter: eventFilter{project: "p" + strconv.Itoa(i%2), types: []string{"thing."}}, ch: make(chan *streamEvent, DefaultStreamBuffer)}
		h.subs[subs[i]] = struct{}{}
	}
	b.ResetTimer()
	for i := range b.N {
		h.publish(uint64(i), []streamEvent{{Seq: uint64(i + 1), Type: "thing.changed", ProjectID: "p0", raw: []byte(`{}`)}})
		for j := 0; j < len(subs); j += 2 { // the p0 half
			<-subs[j].ch
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchSubscribers, "ns/sub")
}

// streamBenchServer serves the event stream of a fresh catalog on loopback, to a trusted admin,
// with room for the benchmark's connections.
func streamBenchServer(b *testing.B) (*store.DB, string) {
	b.Helper()
	db, comp, imgs, vols, nets := testServicesDB(b)
	s, err := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Host: testHostService(),
		Backup: func(io.Writer) (int64, error) { return 0, nil }, Events: catalogEvents(db), EventsAppended: db.EventsAppended,
		Compute: comp, Images: imgs, Volumes: vols, Networks: nets, DefaultProject: "p1",
		Limits: Limits{MaxConnsPerSource: 2 * benchSubscribers}})
	if err != nil {
		b.Fatal(err)
	}
	return db, serveLoopback(b, s)
}

// openRawStream opens a stream with a bare HTTP/1.1 request and reads up to the end of its headers.
func openRawStream(b *testing.B, addr string) (net.Conn, *bufio.Reader) {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(c, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
	r := bufio.NewReaderSize(c, 4096)
	status, err := r.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		b.Fatalf("open stream: %q %v", status, err)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if line == "\r\n" {
			return c, r
		}
	}
}

// readSeqs sends the seq of each event the stream carries (its body is chunked: the "id: " lines
// are found among the chunk sizes).
func readSeqs(r *bufio.Reader, seen chan<- uint64) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			seq, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			seen <- seq
		}
	}
}

type memSample struct{ heap, stack uint64 }

// memNow is the heap and the goroutine stacks in use after a collection. (The process's RSS says
// little here: the benchmark runs several times in one process, which reuses what the last run freed.)
func memNow() memSample {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{heap: ms.HeapInuse, stack: ms.StackInuse}
}
