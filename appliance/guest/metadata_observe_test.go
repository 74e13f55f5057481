package guest

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMetadataObserverCountsRequestsByKindAndStatus: what the daemon's metadata request counter
// hangs on. Every answered request is reported once, documents apart from phone-homes, rejected
// ones (rate limit, unknown caller) with their status.
func TestMetadataObserverCountsRequestsByKindAndStatus(t *testing.T) {
	a := Caller{NetworkID: "net-a", Addr: netip.MustParseAddr("10.0.0.5")}
	guests := &fakeGuests{at: map[Caller]string{a: "inst-a"}}
	var mu sync.Mutex
	got := map[string]int{}
	s := NewServer(ServerOptions{Burst: 3, Rate: 0.001, Observe: func(kind string, status int) {
		mu.Lock()
		got[kind+" "+strconv.Itoa(status)]++
		mu.Unlock()
	}})
	defer s.Close()
	s.Start(guests, guests)
	ask := func(method, path string, c Caller) {
		rec := httptest.NewRecorder()
		s.handler.ServeHTTP(rec, httptest.NewRequest(method, path, nil).WithContext(WithCaller(context.Background(), c)))
	}
	ask("GET", "/latest/meta-data/instance-id", a)
	ask("GET", "/latest/meta-data/no-such", a)
	ask("POST", ReadyPath, a)
	ask("GET", "/latest/meta-data/instance-id", a) // past the burst of 3
	ask("GET", "/latest/meta-data/instance-id", Caller{NetworkID: "net-b", Addr: a.Addr})
	want := map[string]int{"document 200": 1, "document 404": 2, "ready 200": 1, "document 429": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("observed (-want +got):\n%s", diff)
	}
}
