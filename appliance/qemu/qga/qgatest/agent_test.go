package qgatest_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"cloudlet/appliance/qemu/qga"
	"cloudlet/appliance/qemu/qga/qgatest"
)

func dial(t *testing.T, a *qgatest.Agent) *qga.Client {
	t.Helper()
	c, err := qga.Dial(context.Background(), a.Path(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The model's guest, as the doc comment lists it, through the real client.
func TestTheDefaultAgentIsASmallDebianGuest(t *testing.T) {
	a := qgatest.New(t)
	a.SetFile("/etc/hostname", "web-guest\n")
	c := dial(t, a)
	host, err := c.HostName()
	if err != nil || host != "web-guest" {
		t.Errorf("host name %q, %v", host, err)
	}
	if os, err := c.OSInfo(); err != nil || os != "Debian GNU/Linux 12 (bookworm)" {
		t.Errorf("os %q, %v", os, err)
	}
	ifs, err := c.Interfaces()
	if err != nil || len(ifs) != 1 || ifs[0].Name != "eth0" || ifs[0].MAC != "52:54:00:12:34:56" || ifs[0].IPs[0].String() != "10.9.0.5/24" {
		t.Errorf("interfaces %+v, %v; want eth0 only (lo left out)", ifs, err)
	}
	if got, err := c.ReadFile("/etc/hostname", 100); err != nil || string(got) != "web-guest\n" || a.OpenHandles() != 0 {
		t.Errorf("read %q, %v, %d handles open", got, err, a.OpenHandles())
	}
	if _, err := c.ReadFile("/nothing", 100); !qga.NoSuchFile(err) {
		t.Errorf("read a missing file: %v, want NoSuchFile", err)
	}
	var e *qga.Error
	if err := c.Execute("guest-exec", nil, nil); !errors.As(err, &e) || e.Class != "CommandNotFound" {
		t.Errorf("an unknown command: %v, want CommandNotFound", err)
	}
	if cmds := a.Commands(); cmds[0] != "guest-sync-delimited" || !slices.Contains(cmds, "guest-exec") {
		t.Errorf("commands %v, want every one recorded", cmds)
	}
}

func TestHandleEveryOverridesTheSyncAndNilEndsIt(t *testing.T) {
	a := qgatest.New(t)
	a.HandleEvery(qgatest.Garbage)
	if _, err := qga.Dial(context.Background(), a.Path(), time.Second); err == nil {
		t.Error("dial succeeded with an agent answering garbage")
	}
	a.HandleEvery(nil)
	if _, err := dial(t, a).HostName(); err != nil {
		t.Errorf("after HandleEvery(nil): %v", err)
	}
}
