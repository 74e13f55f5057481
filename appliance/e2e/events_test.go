package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/compute"
	"cloudlet/web/client"
)

// streamEvent is an event of the stream, decoded.
type streamEvent struct {
	Seq       uint64 `json:"seq"`
	Type      string `json:"type"`
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	Data      struct {
		VMState    compute.VMState    `json:"vm_state"`
		TaskState  compute.TaskState  `json:"task_state"`
		PowerState compute.PowerState `json:"power_state"`
	} `json:"data"`
}

// openStream opens GET /api/v1/events as a stream over TCP with token,
// resuming after lastID when not "". It closes when the test ends.
func openStream(t *testing.T, d *Daemon, token string, q map[string]string, lastID string) *client.EventStream {
	t.Helper()
	c := client.New(client.Options{URL: "http://" + d.Listen, Token: token})
	params := map[string][]string{}
	for k, v := range q {
		params[k] = []string{v}
	}
	st, err := c.Events(context.Background(), params, lastID)
	if err != nil {
		t.Fatalf("open the event stream: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// nextEvent reads the stream's next event of the log (the stream's own events are errors here).
func nextEvent(t *testing.T, st *client.EventStream) streamEvent {
	t.Helper()
	e, err := st.Next()
	if err != nil {
		t.Fatalf("read the event stream: %v", err)
	}
	var se streamEvent
	if err := json.Unmarshal(e.Data, &se); err != nil || se.Seq != e.Seq || se.Type != e.Type {
		t.Fatalf("event %d %s: data %s (%v)", e.Seq, e.Type, e.Data, err)
	}
	return se
}

// A member's stream carries its instance's state changes in order, from the create through the boot
// to active and from the stop to stopped, while another project creates and stops an instance at the
// same time; none of the other project's events reach it, and the other member's stream likewise.
func TestEventStreamFollowsAMembersInstance(t *testing.T) {
	c := newCloud(t, `{"trust_loopback": false}`)
	api := httpAPI{t: t, base: "http://" + c.D.Listen}
	booted := map[string]string{}
	t.Cleanup(func() { api.waitSpawned(booted, bootWait) })
	g := GuestPaths(t)
	c.ImportImage(map[string]any{"name": "pub", "path": g.Disk, "disk_format": "qcow2", "visibility": "public",
		"kernel_path": g.Kernel, "initrd_path": g.Initrd, "cmdline": "console=ttyS0 panic=-1 no_timer_check"})
	admin := c.D.AdminToken(t)
	tokens, streams, insts := map[string]string{}, map[string]*client.EventStream{}, map[string]string{}
	for _, p := range []string{"pa", "pb"} {
		tokens[p] = api.addMember(admin, p, "u"+p[1:], "events-pw-4b1f")
		streams[p] = openStream(t, c.D, tokens[p], nil, "")
	}
	for _, p := range []string{"pa", "pb"} { // both projects boot at once
		var inst struct{ ID string }
		if code := api.call("POST", "/api/v1/instances", tokens[p], map[string]any{"name": "vm", "image": "pub",
			"flavor": "m1.tiny", "networks": []string{}}, &inst); code != 202 {
			t.Fatalf("%s creates an instance = %d", p, code)
		}
		insts[p], booted[inst.ID] = inst.ID, tokens[p]
	}
	for p, other := range map[string]string{"pa": "pb", "pb": "pa"} {
		states := readStates(t, streams[p], insts[p], insts[other], compute.VMActive)
		t.Logf("%s's stream to active: %v", p, states)
		if states[0] != "instance.created building" || states[len(states)-1] != "instance.state active" {
			t.Errorf("%s's stream: %v, want instance.created building … instance.state active", p, states)
		}
	}
	for _, p := range []string{"pa", "pb"} {
		if code := api.call("POST", "/api/v1/instances/"+insts[p]+"/stop", tokens[p], nil, nil); code/100 != 2 {
			t.Fatalf("%s stops its instance = %d", p, code)
		}
	}
	for p, other := range map[string]string{"pa": "pb", "pb": "pa"} {
		states := readStates(t, streams[p], insts[p], insts[other], compute.VMStopped)
		if states[len(states)-1] != "instance.state stopped" {
			t.Errorf("%s's stream after the stop: %v, want … instance.state stopped", p, states)
		}
	}
}

// readStates reads a member's stream until its instance mine reaches vm with no task, checking that
// every event is of one project (its root volume's are there too) and never about theirs, the other
// project's instance, in increasing seq order; it returns "type vm_state" of each event about mine.
func readStates(t *testing.T, st *client.EventStream, mine, theirs string, vm compute.VMState) []string {
	t.Helper()
	var states []string
	var last uint64
	project := ""
	for {
		e := nextEvent(t, st)
		if project == "" {
			project = e.ProjectID
		}
		if e.ID == theirs || e.ProjectID != project || project == "" {
			t.Fatalf("a member's stream carried %s %s of project %q after events of project %q", e.Type, e.ID, e.ProjectID, project)
		}
		if e.Seq <= last {
			t.Fatalf("event %d after event %d", e.Seq, last)
		}
		last = e.Seq
		if e.ID != mine {
			continue
		}
		states = append(states, e.Type+" "+string(e.Data.VMState))
		if e.Data.VMState == vm && e.Data.TaskState == compute.TaskNone {
			return states
		}
	}
}

// A stream open while the daemon stops ends (the daemon does not wait for it); events written while
// no stream is connected, before and after a restart, arrive after a reconnect with Last-Event-ID,
// in order, with no seq missing or repeated.
func TestEventStreamResumesAcrossARestart(t *testing.T) {
	c := newCloud(t, "")
	admin := c.Token()
	st := openStream(t, c.D, admin, map[string]string{"type": "security_group."}, "")
	group := func(name string) string {
		var g struct{ ID string }
		if err := c.Do("POST", "/api/v1/security-groups", map[string]any{"name": name}, &g); err != nil {
			t.Fatalf("create security group %s: %v", name, err)
		}
		return g.ID
	}
	g0 := group("g0") // (after the project's default group, made on first use)
	var last uint64
	for e := nextEvent(t, st); ; e = nextEvent(t, st) {
		if last = e.Seq; e.ID == g0 {
			break
		}
	}
	group("g1")
	for _, name := range []string{"g2", "g3"} {
		group(name)
	}
	if err := c.D.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err, exited := c.D.Wait(30 * time.Second); !exited || err != nil {
		t.Fatalf("SIGTERM with open streams: exited=%v err=%v", exited, err)
	}
	var endType string
	for { // the daemon's stop ended the stream: g1…g3 still buffered, stream.end, then its end
		e, err := st.Next()
		if err != nil {
			if err != io.EOF {
				t.Errorf("the stream ended with %v, want stream.end and a clean end", err)
			}
			break
		}
		endType = e.Type
	}
	if endType != client.EventStreamEnd {
		t.Errorf("the stream's last event at shutdown = %q, want %s", endType, client.EventStreamEnd)
	}
	c.D.Start(t)
	c.D.WaitReady(t)
	for _, name := range []string{"g4", "g5"} {
		group(name)
	}
	resumed := openStream(t, c.D, admin, nil, strconv.FormatUint(last, 10))
	var names []string
	for want := last + 1; len(names) < 5; want++ {
		e := nextEvent(t, resumed)
		if e.Seq != want {
			t.Fatalf("after a reconnect with Last-Event-ID %d: event %d, want %d (no gap, no repeat)", last, e.Seq, want)
		}
		if e.Type == "security_group.created" {
			var g struct{ Name string }
			if err := c.Do("GET", "/api/v1/security-groups/"+e.ID, nil, &g); err != nil {
				t.Fatal(err)
			}
			names = append(names, g.Name)
		}
	}
	if fmt.Sprint(names) != "[g1 g2 g3 g4 g5]" {
		t.Errorf("groups created while disconnected and across the restart arrived as %v, want g1 … g5 in order", names)
	}
}
