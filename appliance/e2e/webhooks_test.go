package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Webhooks against the real daemon (issue 14): receivers live in the outer namespace, reached from
// the daemon's over the uplink like any server on the internet.

type hookView struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

type hookDelivery struct {
	EventSeq   uint64 `json:"event_seq"`
	EventType  string `json:"event_type"`
	Outcome    string `json:"outcome"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error"`
}

// hookRequest is what a receiver was sent.
type hookRequest struct {
	header http.Header
	body   []byte
}

// hookEvent is the part of a delivered event the tests read.
type hookEvent struct {
	Seq  uint64 `json:"seq"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// receiveHooks serves on addr in the outer namespace, passing each request on got, then answering
// with answer (nil: 204).
func receiveHooks(t *testing.T, o *outer, addr string, answer http.HandlerFunc) chan hookRequest {
	got := make(chan hookRequest, 64)
	listenIn(t, o, addr, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- hookRequest{r.Header.Clone(), body}
		if answer == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		answer(w, r)
	})
	return got
}

func (c *Cloud) createHook(url string, events ...string) hookView {
	c.T.Helper()
	var h hookView
	if err := c.Do("POST", "/api/v1/webhooks", map[string]any{"url": url, "events": events}, &h); err != nil {
		c.T.Fatalf("create webhook %s: %v", url, err)
	}
	return h
}

func nextHook(t *testing.T, got chan hookRequest, what string) (hookRequest, hookEvent) {
	t.Helper()
	select {
	case r := <-got:
		var e hookEvent
		if err := json.Unmarshal(r.body, &e); err != nil {
			t.Fatalf("%s: body %q: %v", what, r.body, err)
		}
		return r, e
	case <-time.After(time.Minute):
		t.Fatalf("%s: no delivery within a minute", what)
		return hookRequest{}, hookEvent{}
	}
}

// A volume's events reach a receiver in another namespace, signed with the webhook's secret (the
// HMAC checked here); a second webhook whose receiver hangs holds none of them up: the first
// receiver gets a later event while the hanging one still holds an earlier one, unanswered.
func TestWebhookDeliversSignedEventsAndAHangingReceiverDelaysNoOther(t *testing.T) {
	o := newOuter(t)
	c := bareCloud(t, `{"webhook_timeout": "10m"}`) // the hanging delivery outlasts the test
	good := receiveHooks(t, o, outerIP+":8080", nil)
	release, answered := make(chan struct{}), make(chan struct{}, 8)
	hanging := receiveHooks(t, o, outerIP+":8081", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		answered <- struct{}{}
	})
	t.Cleanup(func() { close(release) }) // before the listeners close (cleanups run last first)
	c.createHook("http://"+outerIP+":8081/hang", "volume.*")
	ok := c.createHook("http://"+outerIP+":8080/hook", "volume.*")
	var list []map[string]any
	if err := c.Do("GET", "/api/v1/webhooks", nil, &list); err != nil || len(list) != 2 {
		t.Fatalf("list webhooks: %v, %v", list, err)
	}
	for _, h := range list {
		if _, has := h["secret"]; has {
			t.Errorf("list shows a secret: %v", h)
		}
	}

	var vol struct{ ID string }
	if err := c.Do("POST", "/api/v1/volumes", map[string]any{"name": "hooked", "size_gib": 1}, &vol); err != nil {
		t.Fatal(err)
	}
	req, first := nextHook(t, good, "receiver")
	mac := hmac.New(sha256.New, []byte(ok.Secret))
	mac.Write(req.body)
	if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); req.header.Get("X-Cloudlet-Signature") != want {
		t.Errorf("signature %q, want %q (HMAC-SHA256 of the body with the secret)", req.header.Get("X-Cloudlet-Signature"), want)
	}
	if !strings.HasPrefix(first.Type, "volume.") || first.ID != vol.ID || req.header.Get("X-Cloudlet-Event") != first.Type {
		t.Errorf("delivered %+v (header %q), want a volume event of %s", first, req.header.Get("X-Cloudlet-Event"), vol.ID)
	}
	_, held := nextHook(t, hanging, "hanging receiver") // it now holds an event and never answers
	if err := c.Do("DELETE", "/api/v1/volumes/"+vol.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	for {
		_, e := nextHook(t, good, "receiver, after the delete")
		if e.Seq > held.Seq && e.ID == vol.ID && e.Type != first.Type {
			break // an event after the one the hanging receiver still holds
		}
	}
	select {
	case <-answered:
		t.Fatal("the hanging receiver answered (or its request ended) before the other webhook's delivery")
	default:
	}
}

// A loopback URL is refused at create with 400; a receiver that redirects to loopback (the
// daemon's own API) gets the delivery, and the redirect is recorded as blocked in the delivery log.
func TestWebhookRefusesLoopbackAtCreateAndBlocksARedirectToIt(t *testing.T) {
	o := newOuter(t)
	c := bareCloud(t, "")
	_, port, _ := net.SplitHostPort(c.D.Listen)
	loopback := "http://127.0.0.1:" + port + "/api/v1/host"
	status, answer := apiStatus(t, c, "POST", "/api/v1/webhooks", `{"url":"`+loopback+`","events":["*"]}`)
	if status != http.StatusBadRequest || !strings.Contains(answer, "loopback") {
		t.Errorf("create with %s: %d %s, want 400 naming loopback", loopback, status, answer)
	}
	redirects := receiveHooks(t, o, outerIP+":8080", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loopback, http.StatusTemporaryRedirect)
	})
	hook := c.createHook("http://"+outerIP+":8080/", "volume.*")
	var vol struct{ ID string }
	if err := c.Do("POST", "/api/v1/volumes", map[string]any{"name": "redirected", "size_gib": 1}, &vol); err != nil {
		t.Fatal(err)
	}
	nextHook(t, redirects, "redirecting receiver")
	var log []hookDelivery
	for deadline := time.Now().Add(time.Minute); len(log) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := c.Do("GET", "/api/v1/webhooks/"+hook.ID+"/deliveries", nil, &log); err != nil {
			t.Fatal(err)
		}
	}
	if len(log) == 0 || log[0].Outcome != "blocked" || !strings.Contains(log[0].Error, "loopback") {
		t.Errorf("delivery log %+v, want the first attempt blocked at the loopback redirect", log)
	}
}

// A webhook is its project's: a member of another project gets 404 showing, deleting or reading
// the delivery log of it and does not list it; its own member's show never carries the secret.
func TestWebhookIsItsProjectsOwn(t *testing.T) {
	c := bareCloud(t, `{"trust_loopback": false}`)
	api := httpAPI{t: t, base: "http://" + c.D.Listen}
	admin := c.D.AdminToken(t)
	pa, pb := api.addMember(admin, "pa", "ua", "webhook-tenant-pw-1"), api.addMember(admin, "pb", "ub", "webhook-tenant-pw-2")
	var created hookView
	if code := api.call("POST", "/api/v1/webhooks", pa, map[string]any{"url": "https://hooks.example.com/a", "events": []string{"*"}}, &created); code != 201 || created.Secret == "" {
		t.Fatalf("pa creates a webhook = %d %+v, want 201 with its secret", code, created)
	}
	for _, path := range []string{"/api/v1/webhooks/" + created.ID, "/api/v1/webhooks/" + created.ID + "/deliveries"} {
		if code := api.call("GET", path, pb, nil, nil); code != 404 {
			t.Errorf("pb GET %s = %d, want 404", path, code)
		}
	}
	if code := api.call("DELETE", "/api/v1/webhooks/"+created.ID, pb, nil, nil); code != 404 {
		t.Errorf("pb DELETE pa's webhook = %d, want 404", code)
	}
	var list []hookView
	if code := api.call("GET", "/api/v1/webhooks", pb, nil, &list); code != 200 || len(list) != 0 {
		t.Errorf("pb lists webhooks = %d %+v, want none", code, list)
	}
	var shown map[string]any
	if code := api.call("GET", "/api/v1/webhooks/"+created.ID, pa, nil, &shown); code != 200 || shown["secret"] != nil {
		t.Errorf("pa shows its webhook = %d %v, want 200 without the secret", code, shown)
	}
	if code := api.call("DELETE", "/api/v1/webhooks/"+created.ID, pa, nil, nil); code != 204 {
		t.Errorf("pa deletes its webhook = %d, want 204", code)
	}
	if strings.Contains(c.D.Stderr(), created.Secret) {
		t.Error("the daemon's output carries the webhook's secret")
	}
}
