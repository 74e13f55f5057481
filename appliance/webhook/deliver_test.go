package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cloudlet/store"
)

// A matching event of the webhook's project arrives once, with the HMAC-SHA256 of the exact body
// under the webhook's secret, and the event type, seq and delivery headers; events of another
// type or another project do not.
func TestDeliveryIsSignedWithTheSecret(t *testing.T) {
	e := newEnv(t)
	rc := e.receive(nil)
	w := e.create("p1", rc.url(), "instance.*")
	evs := e.appendEvents(ev("volume.created", "p1", "v1"), ev("instance.created", "p2", "i2"), ev("instance.state_changed", "p1", "i1"))
	got := rc.next(t)
	mac := hmac.New(sha256.New, []byte(w.Secret))
	mac.Write(got.body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); got.header.Get(HeaderSignature) != want {
		t.Errorf("signature %q, want %q", got.header.Get(HeaderSignature), want)
	}
	var body store.Event
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Seq != evs[2].Seq || body.Type != "instance.state_changed" || body.ID != "i1" || string(body.Data) != `{"state":"running"}` {
		t.Errorf("delivered %+v, want event %d instance.state_changed of i1", body, evs[2].Seq)
	}
	if got.header.Get(HeaderEvent) != "instance.state_changed" || got.header.Get(HeaderEventSeq) != strconv.FormatUint(evs[2].Seq, 10) ||
		!store.IsID(got.header.Get(HeaderDelivery)) {
		t.Errorf("headers %v lack the event type, seq or delivery ID", got.header)
	}
	l := e.waitLog(e.svc, "p1", w.ID, func(l []Delivery) bool { return len(l) > 0 })
	if len(l) != 1 || l[0].Outcome != OutcomeDelivered || l[0].StatusCode != 200 || l[0].EventSeq != evs[2].Seq || l[0].Attempt != 1 {
		t.Errorf("delivery log %+v, want one delivered attempt at event %d", l, evs[2].Seq)
	}
	select {
	case d := <-rc.got:
		t.Errorf("a second delivery arrived: %s", d.body)
	default:
	}
}

// A receiver answering 500 gets Attempts tries of the same delivery, each after at least twice the
// previous backoff, and the last is marked failed; a 404 is not retried.
func TestRetriesWithBackoffOn500UntilTheBound(t *testing.T) {
	const backoff = 20 * time.Millisecond
	reg := prometheus.NewRegistry()
	e := newEnv(t, func(o *Options) { o.Attempts, o.Backoff, o.Metrics = 3, backoff, reg })
	var arrivals []time.Time
	rc := e.receive(func(w http.ResponseWriter, r *http.Request) {
		arrivals = append(arrivals, time.Now())
		w.WriteHeader(http.StatusInternalServerError)
	})
	w := e.create("p1", rc.url(), "*")
	e.appendEvents(ev("instance.created", "p1", "i1"))
	l := e.waitLog(e.svc, "p1", w.ID, func(l []Delivery) bool { return count(l, OutcomeFailed) > 0 })
	if len(l) != 3 || l[0].Outcome != OutcomeRetrying || l[1].Outcome != OutcomeRetrying || l[2].Outcome != OutcomeFailed {
		t.Fatalf("delivery log %+v, want retrying, retrying, failed", l)
	}
	for i, d := range l {
		if d.Attempt != i+1 || d.StatusCode != 500 || d.DeliveryID != l[0].DeliveryID {
			t.Errorf("attempt %d: %+v, want attempt %d answered 500 with delivery ID %s", i, d, i+1, l[0].DeliveryID)
		}
	}
	if len(rc.got) != 3 {
		t.Errorf("receiver got %d requests, want 3", len(rc.got))
	}
	if g1, g2 := arrivals[1].Sub(arrivals[0]), arrivals[2].Sub(arrivals[1]); g1 < backoff || g2 < 2*backoff {
		t.Errorf("gaps between attempts %v and %v, want at least %v and %v", g1, g2, backoff, 2*backoff)
	}
	if got := outcomeCounts(t, reg); got["retrying"] != 2 || got["failed"] != 1 || got["delivered"] != 0 {
		t.Errorf("cloudlet_webhook_deliveries_total %v, want retrying 2, failed 1, delivered 0", got)
	}

	nf := e.receive(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	w2 := e.create("p2", nf.url(), "*")
	e.appendEvents(ev("instance.created", "p2", "i2"))
	l = e.waitLog(e.svc, "p2", w2.ID, func(l []Delivery) bool { return len(l) > 0 })
	if len(l) != 1 || l[0].Outcome != OutcomeFailed || l[0].StatusCode != 404 {
		t.Errorf("delivery log for a 404 %+v, want one failed attempt", l)
	}
}

// A receiver that never answers holds only its own webhook: another webhook of the same project
// gets both events while the first request still hangs; the hung attempt ends at the timeout.
func TestHangingReceiverTimesOutAndDelaysNoOtherWebhook(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Attempts, o.Timeout = 1, 300*time.Millisecond })
	release := make(chan struct{})
	hang := e.receive(func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	fine := e.receive(nil)
	hung := e.create("p1", hang.url(), "*")
	e.create("p1", fine.url(), "*")
	evs := e.appendEvents(ev("instance.created", "p1", "i1"), ev("instance.deleted", "p1", "i1"))
	hang.next(t) // the hanging receiver holds the first event
	for _, want := range evs {
		var got store.Event
		json.Unmarshal(fine.next(t).body, &got)
		if got.Seq != want.Seq {
			t.Errorf("other webhook got event %d, want %d", got.Seq, want.Seq)
		}
	}
	if l, _ := e.svc.Deliveries(context.Background(), "p1", hung.ID); count(l, OutcomeDelivered) != 0 {
		t.Errorf("the hanging webhook's log %+v says delivered", l)
	}
	l := e.waitLog(e.svc, "p1", hung.ID, func(l []Delivery) bool { return len(l) > 0 })
	if l[0].Outcome != OutcomeFailed || !strings.Contains(l[0].Error, "deadline exceeded") {
		t.Errorf("hung attempt %+v, want failed at the deadline", l[0])
	}
}

// With a queue of 2 and the receiver busy with the first event, 5 more events queue 2 and drop 3,
// each drop in the delivery log; the queued ones are delivered in order once it answers.
func TestFullQueueIsBoundedAndDropsAreLogged(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.QueueSize = 2 })
	release := make(chan struct{})
	rc := e.receive(func(w http.ResponseWriter, r *http.Request) { <-release })
	w := e.create("p1", rc.url(), "*")
	first := e.appendEvents(ev("instance.created", "p1", "i1"))
	rc.next(t)
	var more []store.Event
	for i := range 5 {
		more = append(more, ev("instance.state_changed", "p1", "i"+strconv.Itoa(i)))
	}
	more = e.appendEvents(more...)
	l := e.waitLog(e.svc, "p1", w.ID, func(l []Delivery) bool { return count(l, OutcomeDropped) == 3 })
	for i, d := range l {
		if d.EventSeq != more[2+i].Seq {
			t.Errorf("dropped %d, want %d (the newest go)", d.EventSeq, more[2+i].Seq)
		}
	}
	close(release)
	l = e.waitLog(e.svc, "p1", w.ID, func(l []Delivery) bool { return count(l, OutcomeDelivered) == 3 })
	var seqs []uint64
	for _, d := range l {
		if d.Outcome == OutcomeDelivered {
			seqs = append(seqs, d.EventSeq)
		}
	}
	if want := []uint64{first[0].Seq, more[0].Seq, more[1].Seq}; !slices.Equal(seqs, want) {
		t.Errorf("delivered %v, want %v", seqs, want)
	}
}

// A receiver that redirects to a loopback address: the redirect is never followed (the loopback
// server gets nothing), the attempt is logged as blocked and not retried.
func TestRedirectToLoopbackIsBlocked(t *testing.T) {
	e := newEnv(t)
	inner := e.receive(nil)
	e.mu.Lock()
	e.allowed = map[string]bool{} // only the redirecting receiver gets through
	e.mu.Unlock()
	target := "http://127.0.0.1:" + inner.URL[strings.LastIndex(inner.URL, ":")+1:] + "/"
	outer := e.receive(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) })
	w := e.create("p1", outer.url(), "*")
	e.appendEvents(ev("instance.created", "p1", "i1"))
	l := e.waitLog(e.svc, "p1", w.ID, func(l []Delivery) bool { return len(l) > 0 })
	if len(l) != 1 || l[0].Outcome != OutcomeBlocked || !strings.Contains(l[0].Error, "loopback") {
		t.Errorf("delivery log %+v, want one blocked attempt naming loopback", l)
	}
	if n := len(inner.got); n != 0 {
		t.Errorf("the loopback server got %d requests", n)
	}
}

// outcomeCounts reads cloudlet_webhook_deliveries_total from reg, by outcome.
func outcomeCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "cloudlet_webhook_deliveries_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}
