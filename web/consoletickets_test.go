package web

import (
	"errors"
	"testing"
	"time"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/identity"
)

func ticketFor(user, instance, kind string) consoleTicket {
	return consoleTicket{principal: identity.Principal{UserID: user}, project: "p", instance: instance, kind: kind}
}

func TestConsoleTicketIsSingleUseAndKeptOnlyAsAHash(t *testing.T) {
	now := time.Unix(1000, 0)
	ts := newTicketStore(30*time.Second, func() time.Time { return now })
	secret, expires, err := ts.issue(ticketFor("u1", "i1", ConsoleVNC))
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) < 43 || !expires.Equal(now.Add(30*time.Second)) { // 32 bytes base64url
		t.Fatalf("secret %q (%d chars), expires %v", secret, len(secret), expires)
	}
	for h := range ts.tickets {
		if string(h[:]) == secret {
			t.Fatal("the secret itself is a key of the store")
		}
	}
	got, err := ts.take(secret)
	if err != nil || got.instance != "i1" || got.kind != ConsoleVNC || got.principal.UserID != "u1" {
		t.Fatalf("take = %+v, %v", got, err)
	}
	if _, err := ts.take(secret); fault.KindOf(err) != fault.Unauthorized {
		t.Errorf("second take = %v, want unauthorized", err)
	}
}

func TestConsoleTicketExpiresAfterItsTTLAndIsSwept(t *testing.T) {
	now := time.Unix(1000, 0)
	ts := newTicketStore(30*time.Second, func() time.Time { return now })
	late, _, _ := ts.issue(ticketFor("u1", "i1", ConsoleVNC))
	onTime, _, _ := ts.issue(ticketFor("u1", "i1", ConsoleVNC))
	now = now.Add(29 * time.Second)
	if _, err := ts.take(onTime); err != nil {
		t.Fatalf("a ticket 29 s old: %v", err)
	}
	now = now.Add(time.Second)
	if _, err := ts.take(late); fault.KindOf(err) != fault.Unauthorized {
		t.Errorf("a ticket 30 s old: %v, want unauthorized", err)
	}
	_, _, _ = ts.issue(ticketFor("u1", "i1", ConsoleVNC))
	now = now.Add(time.Minute)
	_, _, _ = ts.issue(ticketFor("u2", "i2", ConsoleVNC))
	if n := ts.len(); n != 1 {
		t.Errorf("%d tickets kept after the others expired, want 1", n)
	}
}

func TestConsoleTicketsAreCappedPerUserPerInstanceAndInTotal(t *testing.T) {
	now := time.Unix(1000, 0)
	ts := newTicketStore(30*time.Second, func() time.Time { return now })
	issueN := func(n int, mk func(i int) consoleTicket) error {
		for i := range n {
			if _, _, err := ts.issue(mk(i)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := issueN(maxTicketsPerUser, func(i int) consoleTicket { return ticketFor("u1", string(rune('a'+i)), ConsoleVNC) }); err != nil {
		t.Fatal(err)
	}
	_, _, err := ts.issue(ticketFor("u1", "z", ConsoleSerial))
	var re *retryError
	if fault.KindOf(err) != fault.TooManyRequests || !errors.As(err, &re) || re.RetryAfter() <= 0 {
		t.Errorf("user's ticket past the cap: %v, want 429 with a retry time", err)
	}
	if err := issueN(maxTicketsPerInstance, func(i int) consoleTicket { return ticketFor(string(rune('A'+i)), "shared", ConsoleVNC) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.issue(ticketFor("another", "shared", ConsoleVNC)); fault.KindOf(err) != fault.TooManyRequests {
		t.Errorf("instance's ticket past the cap: %v, want 429", err)
	}
	now = now.Add(time.Minute) // all expire
	err = issueN(maxTickets+1, func(i int) consoleTicket { return ticketFor(string(rune(i)), string(rune(i)), ConsoleVNC) })
	if fault.KindOf(err) != fault.TooManyRequests || ts.len() != maxTickets {
		t.Errorf("past the total cap: %v with %d kept, want 429 with %d", err, ts.len(), maxTickets)
	}
}
