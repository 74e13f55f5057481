package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// The secret comes back from create (generated with its prefix, or the one given) and from nothing
// else: not list, not show, not the log of a delivery signed with it.
func TestSecretIsShownOnceOnly(t *testing.T) {
	e := newEnv(t)
	rc := e.receive(nil)
	gen := e.create("p1", rc.url(), "*")
	if !strings.HasPrefix(gen.Secret, SecretPrefix) || len(gen.Secret) < 40 {
		t.Errorf("generated secret %q, want %s and 43 random characters", gen.Secret, SecretPrefix)
	}
	given, err := e.svc.Create(context.Background(), Spec{ProjectID: "p1", Name: "mine", URL: rc.url(), Events: []string{"volume.*"},
		Secret: "my-own-secret-of-24-byte"})
	if err != nil || given.Secret != "my-own-secret-of-24-byte" {
		t.Fatalf("create with a secret: %+v, %v", given, err)
	}
	e.appendEvents(ev("instance.created", "p1", "i1"))
	rc.next(t)
	e.waitLog(e.svc, "p1", gen.ID, func(l []Delivery) bool { return len(l) > 0 })
	list, err := e.svc.List(context.Background(), "p1")
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %+v, %v", list, err)
	}
	shown, err := e.svc.Get(context.Background(), "p1", "mine")
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{"list": list, "show": shown})
	for _, secret := range []string{gen.Secret, given.Secret} {
		if strings.Contains(string(out), secret) {
			t.Errorf("list or show carries a secret: %s", out)
		}
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the log carries a secret: %s", e.logs.String())
		}
	}
}

// Another project's member finds no webhook of p1: show, delete and the delivery log answer not
// found, and its list is empty; the owner's delete then stops the webhook.
func TestAnotherProjectCannotSeeOrDeleteAWebhook(t *testing.T) {
	e := newEnv(t)
	w := e.create("p1", "https://hooks.example.com/x", "*")
	ctx := context.Background()
	if _, err := e.svc.Get(ctx, "p2", w.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("show from p2: %v, want not found", err)
	}
	if err := e.svc.Delete(ctx, "p2", w.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("delete from p2: %v, want not found", err)
	}
	if _, err := e.svc.Deliveries(ctx, "p2", w.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("deliveries from p2: %v, want not found", err)
	}
	if l, err := e.svc.List(ctx, "p2"); err != nil || len(l) != 0 {
		t.Errorf("p2's list: %+v, %v, want empty", l, err)
	}
	if err := e.svc.Delete(ctx, "p1", w.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Get(ctx, "p1", w.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("show after delete: %v, want not found", err)
	}
}

// What is plainly refused is refused at create, with ErrInvalid (400): a literal loopback,
// link-local (metadata) or unspecified IP, another scheme, credentials in the URL, no or bad event
// patterns, a short secret.
func TestCreateRefusesPlainlyRefusedURLs(t *testing.T) {
	e := newEnv(t)
	tests := []Spec{
		{URL: "http://127.0.0.1:8080/", Events: []string{"*"}},
		{URL: "http://[::1]/", Events: []string{"*"}},
		{URL: "http://[::ffff:127.0.0.1]/", Events: []string{"*"}},
		{URL: "http://169.254.169.254/latest/meta-data", Events: []string{"*"}},
		{URL: "http://0.0.0.0/", Events: []string{"*"}},
		{URL: "ftp://hooks.example.com/", Events: []string{"*"}},
		{URL: "file:///etc/passwd", Events: []string{"*"}},
		{URL: "https://user:pw@hooks.example.com/", Events: []string{"*"}},
		{URL: "https:///nohost", Events: []string{"*"}},
		{URL: "https://hooks.example.com/"},
		{URL: "https://hooks.example.com/", Events: []string{"instance.**"}},
		{URL: "https://hooks.example.com/", Events: []string{"Instance Created"}},
		{URL: "https://hooks.example.com/", Events: []string{"*"}, Secret: "short"},
	}
	for _, spec := range tests {
		spec.ProjectID = "p1"
		if _, err := e.svc.Create(context.Background(), spec); !errors.Is(err, ErrInvalid) || fault.KindOf(err) != fault.Invalid {
			t.Errorf("create %+v: %v, want invalid", spec, err)
		}
	}
	if l, _ := e.svc.List(context.Background(), "p1"); len(l) != 0 {
		t.Errorf("refused webhooks were stored: %+v", l)
	}
}

// The cursor is saved: a restarted service delivers what came after, not what was delivered before.
func TestRestartResumesFromTheSavedCursor(t *testing.T) {
	e := newEnv(t)
	rc := e.receive(nil)
	w := e.create("p1", rc.url(), "*")
	first := e.appendEvents(ev("instance.created", "p1", "i1"))
	rc.next(t)
	e.waitLog(e.svc, "p1", w.ID, func(l []Delivery) bool { return len(l) > 0 })
	e.svc.Close()
	second := e.appendEvents(ev("instance.deleted", "p1", "i1"))
	e.svc = e.start()
	var got store.Event
	json.Unmarshal(rc.next(t).body, &got)
	if got.Seq != second[0].Seq {
		t.Errorf("after the restart the first delivery is event %d, want %d (not %d again)", got.Seq, second[0].Seq, first[0].Seq)
	}
}
