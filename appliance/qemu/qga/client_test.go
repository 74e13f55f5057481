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

	"cloudlet/appliance/qemu/qga/qgatest"
)

func TestSyncSkipsStaleOutputAndRepliesWithAnotherID(t *testing.T) {
	a := qgatest.New(t)
	a.Handle("guest-sync-delimited", func(r qgatest.Request, w io.Writer) {
		// a late reply to an earlier command, garbage, an earlier sync's answer, then ours
		fmt.Fprintf(w, "{\"return\": {\"host-name\": \"stale\"}}\nnot json\xff{\"return\": %d}\n\xff{\"return\": %d}\n",
			r.Arguments.ID+1, r.Arguments.ID)
	})
	a.Handle("guest-get-host-name", qgatest.Return(`{"host-name": "web-1"}`))
	got, err := dial(t, a.Path()).HostName()
	if err != nil || got != "web-1" {
		t.Errorf("host name %q, %v; want web-1 (the stale reply skipped)", got, err)
	}
}

func TestAnAgentThatNeverSyncsWithOurIDIsRefused(t *testing.T) {
	a := qgatest.New(t)
	a.Handle("guest-sync-delimited", func(r qgatest.Request, w io.Writer) {
		for range 100000 { // a flood of well-formed syncs, none with our id
			if _, err := fmt.Fprintf(w, "\xff{\"return\": %d}\n", r.Arguments.ID+1); err != nil {
				return
			}
		}
	})
	bounded(t, func() {
		_, err := Dial(context.Background(), a.Path(), testTimeout)
		var ne net.Error
		if !errors.Is(err, ErrTooLarge) && (!errors.As(err, &ne) || !ne.Timeout()) {
			t.Errorf("dial: %v, want the reply cap's or the deadline's error (the flood of foreign syncs not read to its end)", err)
		}
	})
}

func TestAnAgentThatHangsCostsOneDeadline(t *testing.T) {
	a := qgatest.New(t)
	a.HandleEvery(qgatest.Silent) // accepts and never answers
	bounded(t, func() {
		_, err := Dial(context.Background(), a.Path(), testTimeout)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("dial: %v, want a timeout", err)
		}
	})
}

func TestAHangingCommandEndsAtItsDeadline(t *testing.T) {
	a := qgatest.New(t)
	a.Handle("guest-get-osinfo", qgatest.Silent) // syncs, then never answers
	c := dial(t, a.Path())
	bounded(t, func() {
		_, err := c.OSInfo()
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("an unanswered command: %v, want the deadline's timeout", err)
		}
	})
}

func TestFloodsAreCutAtTheReplyCap(t *testing.T) {
	for name, flood := range map[string]func(*qgatest.Agent){
		"a reply of megabytes":      func(a *qgatest.Agent) { a.Handle("guest-get-host-name", qgatest.Flood) },
		"megabytes before the sync": func(a *qgatest.Agent) { a.HandleEvery(qgatest.Flood) },
	} {
		t.Run(name, func(t *testing.T) {
			a := qgatest.New(t)
			flood(a)
			bounded(t, func() {
				c, err := Dial(context.Background(), a.Path(), testTimeout)
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
			a := qgatest.New(t)
			a.Handle("guest-get-host-name", func(_ qgatest.Request, w io.Writer) { io.WriteString(w, reply) })
			if _, err := dial(t, a.Path()).HostName(); !errors.Is(err, ErrMalformed) {
				t.Errorf("err %v, want %v", err, ErrMalformed)
			}
		})
	}
}

func TestAnErrorReplyKeepsTheAgentsClass(t *testing.T) {
	a := qgatest.New(t)
	a.Handle("guest-get-osinfo", qgatest.Fail("CommandNotFound", "no\x1b[31m such"))
	_, err := dial(t, a.Path()).OSInfo()
	var ae *Error
	if !errors.As(err, &ae) || ae.Class != "CommandNotFound" || strings.ContainsRune(err.Error(), 0x1b) {
		t.Errorf("err %v, want the agent's CommandNotFound without control characters", err)
	}
}

func TestShutdownIsSentAndSilenceIsSuccess(t *testing.T) {
	a := qgatest.New(t)
	got := make(chan string, 1)
	a.OnShutdown(func(mode string) { got <- mode }) // and no answer, as qemu-ga on success
	if err := dial(t, a.Path()).Shutdown("reboot"); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if mode := <-got; mode != "reboot" {
		t.Errorf("agent got mode %q, want reboot", mode)
	}
}

func TestShutdownThatTheAgentRefusesIsAnError(t *testing.T) {
	a := qgatest.New(t)
	a.Handle("guest-shutdown", qgatest.Fail("GenericError", "shutdown failed"))
	var ae *Error
	if err := dial(t, a.Path()).Shutdown("powerdown"); !errors.As(err, &ae) {
		t.Errorf("shutdown: %v, want the agent's error", err)
	}
}

func TestCancellingTheContextClosesTheConnection(t *testing.T) {
	a := qgatest.New(t)
	a.HandleEvery(qgatest.Silent)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := Dial(ctx, a.Path(), time.Minute)
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
