package webhook

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"cloudlet/internal/testkit"
	"cloudlet/store"
)

type env struct {
	t       *testing.T
	db      *store.DB
	svc     *Service
	logs    *testkit.SyncBuffer
	allowed map[string]bool // ports of local test receivers let through the guard
	mu      sync.Mutex
}

// newEnv opens a catalog and starts the service on it; local receivers are let through the guard
// one port at a time (allow), everything else meets the real guard.
func newEnv(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	db := testkit.Catalog(t, "", store.Options{})
	e := &env{t: t, db: db, logs: &testkit.SyncBuffer{}, allowed: map[string]bool{}}
	e.svc = e.start(opts...)
	return e
}

func (e *env) start(opts ...func(*Options)) *Service {
	o := Options{DB: e.db, Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Backoff: time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	s, err := New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	real := s.check
	s.check = func(network, address string) error {
		_, port, _ := net.SplitHostPort(address)
		e.mu.Lock()
		ok := e.allowed[port]
		e.mu.Unlock()
		if ok {
			return nil
		}
		return real(network, address)
	}
	s.Start()
	e.t.Cleanup(func() { s.Close() })
	return s
}

// receiver is a local HTTP server that records what it is sent.
type receiver struct {
	*httptest.Server
	got chan delivered
}

type delivered struct {
	header http.Header
	body   []byte
}

// receive starts a receiver that answers with handle after recording the request; the env's
// guard lets it through.
func (e *env) receive(handle func(w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{got: make(chan delivered, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.got <- delivered{r.Header.Clone(), body}
		if handle != nil {
			handle(w, r)
		}
	}))
	e.t.Cleanup(rc.Close)
	e.allow(rc.Server)
	return rc
}

func (e *env) allow(ts *httptest.Server) {
	_, port, _ := net.SplitHostPort(ts.Listener.Addr().String())
	e.mu.Lock()
	e.allowed[port] = true
	e.mu.Unlock()
}

// url is the receiver's URL by name (localhost): a literal loopback IP is refused at create.
func (rc *receiver) url() string {
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	return "http://localhost:" + port + "/hook"
}

func (rc *receiver) next(t *testing.T) delivered {
	t.Helper()
	select {
	case d := <-rc.got:
		return d
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery within 30s")
		return delivered{}
	}
}

func (e *env) create(project, url string, events ...string) Webhook {
	e.t.Helper()
	w, err := e.svc.Create(context.Background(), Spec{ProjectID: project, URL: url, Events: events})
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// appendEvents appends events in one transaction and returns them with their Seq.
func (e *env) appendEvents(evs ...store.Event) []store.Event {
	e.t.Helper()
	err := e.db.Update(func(tx *store.Tx) error {
		for i := range evs {
			if err := store.AppendEvent(tx, &evs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func ev(typ, project, id string) store.Event {
	return store.Event{Type: typ, Kind: "instance", ID: id, ProjectID: project, Data: []byte(`{"state":"running"}`)}
}

// waitLog waits until webhook id's delivery log satisfies done, and returns it.
func (e *env) waitLog(svc *Service, project, id string, done func([]Delivery) bool) []Delivery {
	e.t.Helper()
	ch := make(chan []Delivery, 1)
	go func() {
		for {
			l, err := svc.Deliveries(context.Background(), project, id)
			if err != nil || done(l) {
				ch <- l
				return
			}
			time.Sleep(5 * time.Millisecond) // polling the log; not ordering anything
		}
	}()
	select {
	case l := <-ch:
		return l
	case <-time.After(60 * time.Second):
		e.t.Fatalf("delivery log of %s never reached the expected state", id)
		return nil
	}
}

func count(l []Delivery, outcome string) int {
	n := 0
	for _, d := range l {
		if d.Outcome == outcome {
			n++
		}
	}
	return n
}
