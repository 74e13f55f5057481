package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"cloudlet/internal/testkit"
	"cloudlet/web/client"
)

// fakeConsole is a serial console websocket: it greets, then hands every message it gets to typed.
type fakeConsole struct {
	typed  chan string
	closed chan websocket.StatusCode // how the client left
}

func newFakeConsole(t *testing.T) (*fakeConsole, *client.Client) {
	f := &fakeConsole{typed: make(chan string, 16), closed: make(chan websocket.StatusCode, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/instances/vm/console" || r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":{"message":"wrong request"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set(modeHeader, "keyboard")
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer ws.CloseNow()
		ctx := r.Context()
		_ = ws.Write(ctx, websocket.MessageBinary, []byte("hello from the guest\r\n"))
		for {
			_, p, err := ws.Read(ctx)
			if err != nil {
				f.closed <- websocket.CloseStatus(err)
				return
			}
			f.typed <- string(p)
		}
	}))
	t.Cleanup(srv.Close)
	return f, client.New(client.Options{URL: srv.URL, Token: "tok"})
}

// The CLI console, driven through a pseudo-terminal: output appears, typed input reaches the guest
// byte for byte (raw mode: a carriage return is not turned into a newline nor held for a line), and
// Ctrl-] detaches, closing the websocket normally and restoring the terminal.
func TestTheConsoleCommandIsRawOnAPseudoTerminalAndCtrlBracketDetachesRestoringIt(t *testing.T) {
	f, cl := newFakeConsole(t)
	term := testkit.OpenTerminal(t)
	done := make(chan error, 1)
	go func() { done <- attachConsole(context.Background(), cl, "vm", "", term.TTY, term.TTY, io.Discard) }()

	if got, err := term.ReadUntil("hello from the guest\r\n", 10*time.Second); err != nil {
		t.Fatalf("terminal shows %q: %v", got, err)
	}
	term.Type("ls\r")
	select {
	case got := <-f.typed:
		if got != "ls\r" {
			t.Errorf("guest got %q, want %q", got, "ls\r")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("typed input never reached the guest: is the terminal raw?")
	}
	term.Type(string(rune(detachKey)))
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("detach: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-] did not detach")
	}
	if code := <-f.closed; code != websocket.StatusNormalClosure {
		t.Errorf("websocket closed with %v, want a normal closure", code)
	}
	if err := term.Restored(); err != nil {
		t.Error(err)
	}
}

// console-log --follow prints the log's tail, then what the guest prints next as a view-only viewer,
// until the console ends (the instance stopped: the reason is a note, not a failure).
func TestConsoleLogFollowPrintsTheTailThenNewOutputUntilTheConsoleEnds(t *testing.T) {
	var mode string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/instances/vm/console-log":
			io.WriteString(w, "old output\n")
		case "/api/v1/instances/vm/console":
			mode = r.URL.Query().Get("mode")
			ws, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer ws.CloseNow()
			ws.Write(r.Context(), websocket.MessageBinary, []byte("new output\n"))
			ws.Close(websocket.StatusGoingAway, "the serial console ended")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var out, notes strings.Builder
	if err := run([]string{"--url", srv.URL, "--token", "tok", "instance", "console-log", "vm", "--follow"}, &out, &notes); err != nil {
		t.Fatalf("console-log --follow: %v", err)
	}
	if out.String() != "old output\nnew output\n" || mode != "view" {
		t.Errorf("printed %q with mode %q; want the tail then the new output, as a viewer", out.String(), mode)
	}
	if !strings.Contains(notes.String(), "the serial console ended") {
		t.Errorf("notes %q do not say why it ended", notes.String())
	}
}
