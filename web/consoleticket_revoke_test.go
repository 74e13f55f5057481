package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/identity"
)

// A console ticket is only as good as the token it was issued with: revoked in the seconds between the
// ticket and the websocket, the ticket no longer opens the console (401), as the token itself would not.
func TestAConsoleTicketIssuedWithATokenRevokedSinceIsRefused(t *testing.T) {
	f := newConsoleFixture(t, ConsoleOptions{})
	tk := f.ticket("member", "vm1", ConsoleVNC, 201)
	p, err := f.ids.Resolve(context.Background(), f.tokens["member"])
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ids.RevokeToken(context.Background(), p.UserID, p.TokenID); err != nil {
		t.Fatal(err)
	}
	f.refused("a ticket whose token was revoked", tk.URL, 401)
}

// Opening a console is audited as a change is: who opened which guest's screen, through which route,
// with the websocket's 101 — and never the ticket.
func TestOpeningAConsoleIsAudited(t *testing.T) {
	f := newConsoleFixture(t, ConsoleOptions{})
	tk := f.ticket("member", "vm1", ConsoleVNC, 201)
	ws, _, err := f.dial(tk.URL)
	if err != nil {
		t.Fatalf("open with the ticket: %v", err)
	}
	(<-f.screens.qemu).Close()
	ws.CloseNow()
	action := f.srv.rules[ruleKey(http.MethodGet, vncPath)]
	var entries []*identity.AuditEntry
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		page, err := f.ids.Audit(context.Background(), identity.AuditFilter{Action: action})
		if err != nil {
			t.Fatal(err)
		}
		if entries = page.Entries; len(entries) > 0 {
			break
		}
	}
	if len(entries) != 1 || entries[0].UserName != "member" || entries[0].Status != http.StatusSwitchingProtocols ||
		entries[0].Path != "/api/v1/instances/id-vm1/vnc" {
		t.Fatalf("audit entries for %s: %+v, want one by member with 101 on /api/v1/instances/id-vm1/vnc", action, entries)
	}
	if strings.Contains(entries[0].Path, tk.Ticket) {
		t.Errorf("the audit entry holds the ticket: %+v", entries[0])
	}
}
