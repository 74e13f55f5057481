package dns

import (
	"errors"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLocalNamesAnsweredFromCatalogOnly(t *testing.T) {
	cat := testCatalog()
	up := startUpstream(t, upstream1, answerWith("203.0.113.9"))
	s := start(t, testConfig(upstream1), cat)
	for _, network := range []string{"udp", "tcp"} {
		for _, tc := range []struct {
			name  string
			qname string
			typ   uint16
			want  result
		}{
			{"known name", "web-1.net1.cloudlet.", typeA, result{ID: 7, AA: true, Answers: []string{"10.0.1.5"}}},
			{"case-insensitive, no trailing dot", "WEB-1.Net1.CLOUDLET", typeA, result{ID: 7, AA: true, Answers: []string{"10.0.1.5"}}},
			{"ipv6 addresses left out", "db.net1.cloudlet.", typeA, result{ID: 7, AA: true, Answers: []string{"10.0.1.6"}}},
			{"unknown name", "ghost.net1.cloudlet.", typeA, result{ID: 7, AA: true, Rcode: rcodeNXDomain}},
			{"the domain itself", "cloudlet.", typeA, result{ID: 7, AA: true, Rcode: rcodeNXDomain}},
			{"aaaa of a known name", "web-1.net1.cloudlet.", typeAAAA, result{ID: 7, AA: true}},
			{"aaaa of an unknown name", "ghost.net1.cloudlet.", typeAAAA, result{ID: 7, AA: true, Rcode: rcodeNXDomain}},
		} {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				if diff := cmp.Diff(tc.want, ask(t, network, 7, tc.qname, tc.typ, 0)); diff != "" {
					t.Errorf("reply (-want +got):\n%s", diff)
				}
			})
		}
	}
	if n := up.queries.Load(); n != 0 {
		t.Errorf("upstream saw %d queries for local names, want 0", n)
	}
	if st := s.Stats(); st.Answered != 8 || st.NXDomain != 6 || st.Forwarded != 0 {
		t.Errorf("stats = %+v, want 8 answered, 6 nxdomain, 0 forwarded", st)
	}
}

func TestOtherNamesForwardedWithIDPreserved(t *testing.T) {
	up := startUpstream(t, upstream1, answerWith("203.0.113.9", "203.0.113.10"))
	s := start(t, testConfig(upstream1), testCatalog())
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			want := result{ID: 0xbeef, Answers: []string{"203.0.113.9", "203.0.113.10"}}
			if diff := cmp.Diff(want, ask(t, network, 0xbeef, "Example.ORG.", typeA, 0)); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
	if n := up.queries.Load(); n != 2 {
		t.Errorf("upstream saw %d queries, want 2", n)
	}
	if st := s.Stats(); st.Forwarded != 2 {
		t.Errorf("stats = %+v, want 2 forwarded", st)
	}
}

func TestFirstUpstreamThatAnswersWins(t *testing.T) {
	startUpstream(t, upstream1, silent)
	startUpstream(t, upstream2, answerWith("198.51.100.1"))
	start(t, testConfig(upstream1, upstream2), testCatalog())
	want := result{ID: 9, Answers: []string{"198.51.100.1"}}
	if diff := cmp.Diff(want, ask(t, "udp", 9, "example.org.", typeA, 0)); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}
}

func TestUpstreamTimeoutIsServfail(t *testing.T) {
	startUpstream(t, upstream1, silent)
	s := start(t, testConfig(upstream1), testCatalog())
	for _, network := range []string{"udp", "tcp"} {
		if diff := cmp.Diff(result{ID: 3, Rcode: rcodeServFail}, ask(t, network, 3, "example.org.", typeA, 0)); diff != "" {
			t.Errorf("%s reply (-want +got):\n%s", network, diff)
		}
	}
	if st := s.Stats(); st.UpstreamFailures != 2 {
		t.Errorf("stats = %+v, want 2 upstream failures", st)
	}
}

func TestNoUpstreamsRefusesOtherNames(t *testing.T) {
	s := start(t, testConfig(), testCatalog())
	if diff := cmp.Diff(result{ID: 4, Rcode: rcodeRefused}, ask(t, "udp", 4, "example.org.", typeA, 0)); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(result{ID: 5, AA: true, Answers: []string{"10.0.1.5"}}, ask(t, "udp", 5, "web-1.net1.cloudlet.", typeA, 0)); diff != "" {
		t.Errorf("local name without upstreams (-want +got):\n%s", diff)
	}
	if st := s.Stats(); st.Refused != 1 {
		t.Errorf("stats = %+v, want 1 refused", st)
	}
}

func TestLargeRepliesTruncatedOverUDPOnly(t *testing.T) {
	startUpstream(t, upstream1, answerWith(ips("198.51.100", 1, 40)...))
	start(t, testConfig(upstream1), testCatalog())
	local := ips("10.0.1", 10, 40)
	for _, tc := range []struct {
		name, network, qname string
		edns                 int
		want                 result
	}{
		{"local, udp", "udp", "big.net1.cloudlet.", 0, result{ID: 1, AA: true, TC: true}},
		{"local, udp with edns", "udp", "big.net1.cloudlet.", 1232, result{ID: 1, AA: true, Answers: local}},
		{"local, tcp", "tcp", "big.net1.cloudlet.", 0, result{ID: 1, AA: true, Answers: local}},
		{"forwarded, udp", "udp", "big.example.", 0, result{ID: 1, TC: true}},
		{"forwarded, tcp", "tcp", "big.example.", 0, result{ID: 1, Answers: ips("198.51.100", 1, 40)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ask(t, tc.network, 1, tc.qname, typeA, tc.edns)); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMalformedMessagesDroppedAndCounted(t *testing.T) {
	s := start(t, testConfig(), testCatalog())
	reply := newQuery(1, "web-1.net1.cloudlet.", typeA, 0)
	reply[2] |= flagQR >> 8
	twoQuestions := appendQuestion(newQuery(1, "a.cloudlet.", typeA, 0), "b.cloudlet.", typeA, classIN)
	twoQuestions[5] = 2
	loop := append(header{ID: 1, QD: 1}.append(nil), 0xc0, 12, 0, 1, 0, 1) // a pointer to itself
	bad := [][]byte{
		{1, 2, 3},
		reply,
		twoQuestions,
		loop,
		newQuery(1, "web-1.net1.cloudlet.", typeA, 0)[:20],             // cut in the name
		append(newQuery(1, "web-1.net1.cloudlet.", typeA, 0), 0, 0, 0), // trailing bytes
	}
	for i, b := range bad {
		if got := exchangeUDP(t, client1, b, 200*time.Millisecond); got != nil {
			t.Errorf("message %d: got a reply %x, want none", i, got)
		}
	}
	if st := s.Stats(); st.DroppedMalformed != uint64(len(bad)) || st.Queries != 0 {
		t.Errorf("stats = %+v, want %d malformed, 0 queries", st, len(bad))
	}
	if got := ask(t, "udp", 2, "web-1.net1.cloudlet.", typeA, 0); got.Rcode != rcodeNoError {
		t.Errorf("good query after malformed ones: %+v", got)
	}
}

func TestRateLimitPerSource(t *testing.T) {
	s := start(t, testConfig(), testCatalog(), func(s *Server) { s.limit = newLimiter(time.Now, 5, 0.001) })
	q := newQuery(1, "web-1.net1.cloudlet.", typeA, 0)
	var answered int
	for range 10 {
		if exchangeUDP(t, client1, q, 200*time.Millisecond) != nil {
			answered++
		}
	}
	if answered != 5 {
		t.Errorf("flooding source got %d answers, want 5", answered)
	}
	if exchangeUDP(t, client2, q, 2*time.Second) == nil {
		t.Errorf("another source got no answer")
	}
	if st := s.Stats(); st.DroppedRateLimited != 5 {
		t.Errorf("stats = %+v, want 5 rate-limited", st)
	}
}

func TestUpdateChangesUpstreams(t *testing.T) {
	startUpstream(t, upstream1, answerWith("198.51.100.1"))
	startUpstream(t, upstream2, answerWith("198.51.100.2"))
	s := start(t, testConfig(upstream1), testCatalog())
	steps := []struct {
		ups  []netip.AddrPort
		want result
	}{
		{[]netip.AddrPort{upstream1}, result{ID: 1, Answers: []string{"198.51.100.1"}}},
		{[]netip.AddrPort{upstream2}, result{ID: 1, Answers: []string{"198.51.100.2"}}},
		{nil, result{ID: 1, Rcode: rcodeRefused}},
	}
	for i, st := range steps {
		must(t, "Update", s.Update(testConfig(st.ups...)))
		if diff := cmp.Diff(st.want, ask(t, "udp", 1, "example.org.", typeA, 0)); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", i, diff)
		}
	}
	moved := testConfig()
	moved.Listen = netip.MustParseAddrPort("127.0.0.1:5353")
	if err := s.Update(moved); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Update with another Listen: %v, want ErrInvalidConfig", err)
	}
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	needNetns(t)
	startUpstream(t, upstream1, silent)
	before := runtime.NumGoroutine()
	cat := testCatalog()
	s, err := New(testConfig(upstream1), cat.lookup, testLogger(t))
	must(t, "New", err)
	s.timeout = time.Minute // a forward stays in flight until Close ends it
	must(t, "Start", s.Start())
	exchangeUDP(t, client1, newQuery(1, "example.org.", typeA, 0), 100*time.Millisecond)
	idle, err := net.Dial("tcp4", serverAddr.String())
	must(t, "dial tcp", err)
	defer idle.Close()
	time.Sleep(50 * time.Millisecond)

	done := make(chan error)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		must(t, "Close", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	// The goroutine that called Close may still be finishing; give the count a moment to settle.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines 5s after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
	if err := s.Start(); !errors.Is(err, ErrStarted) {
		t.Errorf("Start after Close: %v, want ErrStarted", err)
	}
	must(t, "second Close", s.Close())
}
