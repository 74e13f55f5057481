package qga

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestSyncSkipsStaleOutputAndRepliesWithAnotherID(t *testing.T) {
	path := fakeAgent(t, func(r req, w io.Writer) {
		switch r.Execute {
		case "guest-sync-delimited":
			// a late reply to an earlier command, garbage, an earlier sync's answer, then ours
			fmt.Fprintf(w, "{\"return\": {\"host-name\": \"stale\"}}\nnot json\xff{\"return\": %d}\n\xff{\"return\": %d}\n",
				r.Arguments.ID+1, r.Arguments.ID)
		case "guest-get-host-name":
			io.WriteString(w, `{"return": {"host-name": "web-1"}}`+"\n")
		}
	})
	got, err := dial(t, path).HostName()
	if err != nil || got != "web-1" {
		t.Errorf("host name %q, %v; want web-1 (the stale reply skipped)", got, err)
	}
}

func TestAnAgentThatNeverSyncsWithOurIDIsRefused(t *testing.T) {
	path := fakeAgent(t, func(r req, w io.Writer) {
		for range 100000 { // a flood of well-formed syncs, none with our id
			if _, err := fmt.Fprintf(w, "\xff{\"return\": %d}\n", r.Arguments.ID+1); err != nil {
				return
			}
		}
	})
	bounded(t, func() {
		if _, err := Dial(context.Background(), path, testTimeout); err == nil {
			t.Error("dial succeeded with an agent that never returns our sync id")
		}
	})
}

func TestAnAgentThatHangsCostsOneDeadline(t *testing.T) {
	path := fakeAgent(t, func(req, io.Writer) {}) // accepts and never answers
	bounded(t, func() {
		_, err := Dial(context.Background(), path, testTimeout)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("dial: %v, want a timeout", err)
		}
	})
}

func TestAHangingCommandEndsAtItsDeadline(t *testing.T) {
	path := fakeAgent(t, honest(nil)) // syncs, then never answers anything else
	c := dial(t, path)
	bounded(t, func() {
		if _, err := c.OSInfo(); err == nil {
			t.Error("an unanswered command succeeded")
		}
	})
}

func TestFloodsAreCutAtTheReplyCap(t *testing.T) {
	flood := func(w io.Writer, b byte) {
		chunk := []byte(strings.Repeat(string(b), 64<<10))
		for range 64 { // 4 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	for _, tc := range []struct {
		name  string
		agent func(req, io.Writer)
	}{
		{"a reply of megabytes", func(r req, w io.Writer) {
			if r.Execute == "guest-sync-delimited" {
				honest(nil)(r, w)
				return
			}
			io.WriteString(w, `{"return": {"host-name": "`)
			flood(w, 'a')
		}},
		{"megabytes before the sync", func(r req, w io.Writer) { flood(w, '{') }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := fakeAgent(t, tc.agent)
			bounded(t, func() {
				c, err := Dial(context.Background(), path, testTimeout)
				if err == nil {
					defer c.Close()
					_, err = c.HostName()
				}
				if !errors.Is(err, ErrTooLarge) {
					t.Errorf("err %v, want %v", err, ErrTooLarge)
				}
			})
		})
	}
}

func TestMalformedRepliesAreErrors(t *testing.T) {
	for name, reply := range map[string]string{
		"not JSON":                 "{\"return\": {\"host-name\": \n",
		"neither return nor error": `{"hello": 1}` + "\n",
		"the wrong type":           `{"return": {"host-name": 42}}` + "\n",
		"an array of junk":         `{"return": [1, 2, 3]}` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := fakeAgent(t, func(r req, w io.Writer) {
				if r.Execute == "guest-sync-delimited" {
					honest(nil)(r, w)
					return
				}
				io.WriteString(w, reply)
			})
			if _, err := dial(t, path).HostName(); !errors.Is(err, ErrMalformed) {
				t.Errorf("err %v, want %v", err, ErrMalformed)
			}
		})
	}
}

func TestAnErrorReplyKeepsTheAgentsClass(t *testing.T) {
	path := fakeAgent(t, func(r req, w io.Writer) {
		if r.Execute == "guest-sync-delimited" {
			honest(nil)(r, w)
			return
		}
		io.WriteString(w, `{"error": {"class": "CommandNotFound", "desc": "no\u001b[31m such"}}`+"\n")
	})
	_, err := dial(t, path).OSInfo()
	var ae *Error
	if !errors.As(err, &ae) || ae.Class != "CommandNotFound" || strings.ContainsRune(err.Error(), 0x1b) {
		t.Errorf("err %v, want the agent's CommandNotFound without control characters", err)
	}
}

func TestShutdownIsSentAndSilenceIsSuccess(t *testing.T) {
	got := make(chan string, 1)
	path := fakeAgent(t, func(r req, w io.Writer) {
		if r.Execute == "guest-shutdown" {
			got <- r.Arguments.Mode
			return // qemu-ga answers a successful shutdown with nothing
		}
		honest(nil)(r, w)
	})
	if err := dial(t, path).Shutdown("reboot"); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if mode := <-got; mode != "reboot" {
		t.Errorf("agent got mode %q, want reboot", mode)
	}
}

func TestShutdownThatTheAgentRefusesIsAnError(t *testing.T) {
	path := fakeAgent(t, func(r req, w io.Writer) {
		if r.Execute == "guest-shutdown" {
			io.WriteString(w, `{"error": {"class": "GenericError", "desc": "shutdown failed"}}`+"\n")
			return
		}
		honest(nil)(r, w)
	})
	var ae *Error
	if err := dial(t, path).Shutdown("powerdown"); !errors.As(err, &ae) {
		t.Errorf("shutdown: %v, want the agent's error", err)
	}
}

func TestCancellingTheContextClosesTheConnection(t *testing.T) {
	path := fakeAgent(t, func(req, io.Writer) {})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := Dial(ctx, path, time.Minute)
		errc <- err
	}()
	cancel()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("dial succeeded after its context ended")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dial still waiting on a silent agent after its context ended")
	}
}
