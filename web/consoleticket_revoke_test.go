package web

import (
	"context"
	"testing"
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
