package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/crashpoint"
	"cloudlet/web/client"
)

// Bounds of the harness, each with its reason.
const (
	soakKillWithin = 3 * time.Second  // a random kill lands within this of the cycle's start: a few actions in flight
	soakPointWait  = bootWait         // an armed daemon reaches its point within a QEMU start under TCG, loaded
	soakReadyWait  = 30 * time.Second // a restart answers /healthz within this (as Daemon.WaitReady)
	soakActionWait = 20 * time.Second // one action's task ends within this unless the daemon dies first
	soakPoll       = 50 * time.Millisecond
)

// The outside of the soak's external network: a link in the test's namespace carries the
// floating IPs (nothing needs to reach them: the checks read addresses and rules, not traffic).
const (
	soakUplink   = "soakup0"
	soakUplinkIP = "198.51.100.1"
)

// soak is the harness's state: the daemon and what the client knows it made.
type soak struct {
	t       *testing.T
	c       *Cloud
	config  string // the daemon's config file
	rng     *rand.Rand
	tracked map[string]*soakInstance // instance id → what the client was told
	pending map[string]bool          // names of creates whose answer was lost to a kill
	seq     int                      // for unique names
	gone    map[string]string        // instance id → boot volume, of instances gone since the last check
	kept    map[string][]string      // instance id → volumes its delete kept (instance.volume_kept events)
	seenSeq uint64                   // the last event read for kept
	hits    map[string]int           // crash point → times the daemon died there on purpose
	missed  map[string]int           // crash point → armed cycles whose action could not be driven
	trail   []string                 // the latest requests and kills, shown when a check fails
	logs    []string                 // the latest daemons' stderr, shown when a check fails

	cycles, randomKills, lost, orphans int
}

// soakInstance is an instance the client created: the API accepted it (202 with its id).
type soakInstance struct {
	name     string
	deleting bool // a delete was accepted: it must go, never come back
	unsure   bool // a delete was sent and its answer lost: it may be gone or not
	// bootVolume is the boot volume it was last seen with: one its delete keeps (it has snapshots) is
	// a record with its reason, not an orphan (see keptVolumesAreRecordsWithTheirReason).
	bootVolume string
}

// newSoak starts the daemon with short guest timeouts (a soft stop of a guest that has not booted
// waits them out), the soak's uplink and its external network.
func newSoak(t *testing.T, seed uint64) *soak {
	t.Helper()
	addSoakUplink(t)
	config := writeFile(t, "cloudlet.json", `{"stop_timeout": "2s", "health_interval": "1s"}`)
	c := newCloud(t, "", "--config", config)
	s := &soak{t: t, c: c, config: config, rng: rand.New(rand.NewPCG(seed, seed^0x50a1c0de)), tracked: map[string]*soakInstance{},
		pending: map[string]bool{}, gone: map[string]string{}, kept: map[string][]string{}, hits: map[string]int{}, missed: map[string]int{}}
	t.Cleanup(func() { // the last of the soak's own starts dies before the dirs go; a failure shows its story
		c.D.Kill()
		if t.Failed() {
			s.explain()
		}
	})
	ext := map[string]any{"name": "soakext", "external": true, "uplink": soakUplink, "subnet": map[string]any{
		"cidr": "198.51.100.0/24", "gateway": "198.51.100.254",
		"allocation_pools": []map[string]string{{"start": "198.51.100.10", "end": "198.51.100.20"}}}}
	if err := c.Do("POST", "/api/v1/networks", ext, nil); err != nil {
		t.Fatalf("create the external network: %v", err)
	}
	return s
}

// addSoakUplink makes the uplink for the test's lifetime: one end of a veth pair whose other end stays
// in the namespace, unused (the kernel may lack the uplink link type).
func addSoakUplink(t *testing.T) {
	t.Helper()
	uplink := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: soakUplink}, PeerName: soakUplink + "p"}
	if err := netlink.LinkAdd(uplink); err != nil {
		t.Fatalf("netlink.LinkAdd(%s): %v", soakUplink, err)
	}
	t.Cleanup(func() {
		if err := netlink.LinkDel(uplink); err != nil {
			t.Errorf("netlink.LinkDel(%s): %v", soakUplink, err)
		}
	})
	addr, _ := netlink.ParseAddr(soakUplinkIP + "/24")
	if err := netlink.AddrAdd(uplink, addr); err != nil {
		t.Fatalf("address %s: %v", soakUplink, err)
	}
	if err := netlink.LinkSetUp(uplink); err != nil {
		t.Fatalf("set %s up: %v", soakUplink, err)
	}
}

// down reports whether the daemon has exited.
func (s *soak) down() bool {
	select {
	case <-s.c.D.done:
		return true
	default:
		return false
	}
}

// randomCycle runs random actions until a timer, started at a random moment, kills the daemon.
func (s *soak) randomCycle() {
	delay := time.Duration(s.rng.Int64N(int64(soakKillWithin)))
	var fired atomic.Bool
	timerDone, stop := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(timerDone)
		select {
		case <-time.After(delay):
			fired.Store(true)
			s.c.D.Kill()
		case <-stop:
		}
	}()
	for !s.down() && !s.t.Failed() {
		s.randomAction()
	}
	close(stop)
	<-timerDone
	s.note("killed after %s", delay)
	if !fired.Load() && !s.t.Failed() {
		s.t.Errorf("the daemon exited by itself: %v\nstderr:\n%s", s.c.D.waitErr, Tail(s.c.D.Stderr(), 4000))
	}
	s.c.D.Kill()
	s.randomKills++
}

// armedCycle restarts the daemon armed at point, drives the action that reaches it and waits for the
// daemon to kill itself there.
func (s *soak) armedCycle(point string) {
	s.c.D.Kill()
	s.start(point)
	if s.waitReady() && !s.reach(point) {
		s.note("what crash point %s needs could not be made; killed instead", point)
		s.missed[point]++
		s.c.D.Kill()
		return
	}
	if _, ok := s.c.D.Wait(soakPointWait); !ok {
		s.t.Errorf("crash point %s was not reached within %s", point, soakPointWait)
		s.c.D.Kill()
		return
	}
	if ws, ok := s.c.D.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		s.t.Errorf("armed at %s, the daemon exited otherwise: %v\nstderr:\n%s", point, s.c.D.waitErr, Tail(s.c.D.Stderr(), 4000))
		return
	}
	s.hits[point]++
}

// waitReady waits for the (re)started daemon to answer; false if it died first (an armed daemon
// may reach its point while it recovers).
func (s *soak) waitReady() bool {
	deadline := time.Now().Add(soakReadyWait)
	for time.Now().Before(deadline) {
		if s.down() {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.c.C.Do(ctx, "GET", "/healthz", nil, nil)
		cancel()
		if err == nil {
			return true
		}
		time.Sleep(soakPoll)
	}
	s.t.Fatalf("daemon not ready within %s\nstderr:\n%s", soakReadyWait, s.c.D.Stderr())
	return false
}

// req sends one request; a refusal by the API is an answer, any other error means the daemon is gone.
func (s *soak) req(method, path string, in, out any) (answered bool, err error) {
	err = s.c.Do(method, path, in, out)
	var apiErr *client.Error
	answered = err == nil || errors.As(err, &apiErr)
	if method != "GET" {
		s.note("%s %s %v: %v", method, path, in, err)
	}
	return answered, err
}

// note adds a line to the trail, keeping the latest soakTrail.
func (s *soak) note(format string, args ...any) {
	s.trail = append(s.trail, fmt.Sprintf("cycle %d: ", s.cycles)+fmt.Sprintf(format, args...))
	if len(s.trail) > soakTrail {
		s.trail = s.trail[len(s.trail)-soakTrail:]
	}
}

// soakTrail is how many requests (and daemons' logs: soakTrail/20) a failure shows.
const soakTrail = 60

// start starts the daemon (armed at point, if not ""), keeping the previous one's log. The harness
// starts it hundreds of times: one cleanup, registered by newSoak, kills the last one.
func (s *soak) start(point string) {
	d := s.c.D
	if d.Cmd != nil {
		s.logs = append(s.logs, fmt.Sprintf("--- daemon of cycle %d:\n%s", s.cycles, d.Stderr()))
		if len(s.logs) > soakTrail/20 {
			s.logs = s.logs[1:]
		}
	}
	d.mu.Lock()
	d.stdout.Reset()
	d.stderr.Reset()
	d.mu.Unlock()
	d.Cmd = exec.Command(d.Bin, d.Args("--config", s.config)...)
	d.Cmd.Env = os.Environ()
	if point != "" {
		d.Cmd.Env = append(d.Cmd.Env, crashpoint.Env+"="+point)
		s.note("start armed at %s", point)
	}
	d.Cmd.Stdout, d.Cmd.Stderr = &lockedWriter{&d.mu, &d.stdout}, &lockedWriter{&d.mu, &d.stderr}
	d.done = make(chan struct{})
	if err := d.Cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", d.Bin, err)
	}
	cmd, done := d.Cmd, d.done
	go func() { d.waitErr = cmd.Wait(); close(done) }()
}

// explain logs the trail and the latest daemons' logs once a check has failed.
func (s *soak) explain() {
	s.t.Logf("soak: the latest requests:\n%s", strings.Join(s.trail, "\n"))
	s.t.Logf("soak: the latest daemons' logs:\n%s\n--- this daemon:\n%s", strings.Join(s.logs, "\n"), s.c.D.Stderr())
}

// name returns a fresh name with prefix.
func (s *soak) name(prefix string) string {
	s.seq++
	return prefix + strconv.Itoa(s.seq)
}

// createInstance asks for an instance on the default network (or none) and tracks it.
func (s *soak) createInstance(withNIC bool) (string, bool) {
	name := s.name("i")
	req := map[string]any{"name": name, "image": kernelImage, "flavor": "m1.tiny"}
	if withNIC {
		req["networks"] = []string{"default"}
	}
	s.pending[name] = true
	var inst compute.Instance
	answered, err := s.req("POST", "/api/v1/instances", req, &inst)
	if !answered {
		return "", false
	}
	delete(s.pending, name)
	if err != nil {
		return "", false
	}
	s.tracked[inst.ID] = &soakInstance{name: name}
	return inst.ID, true
}

// deleteInstance asks for a delete and records what the client was told.
func (s *soak) deleteInstance(id string) {
	var inst compute.Instance
	if _, err := s.req("GET", "/api/v1/instances/"+id, nil, &inst); err == nil && inst.BootVolumeID != "" {
		s.tracked[id].bootVolume = inst.BootVolumeID
	}
	answered, err := s.req("DELETE", "/api/v1/instances/"+id, nil, nil)
	switch {
	case !answered:
		s.tracked[id].unsure = true
	case err == nil:
		s.tracked[id].deleting = true
	}
}

// waitInstance polls until the instance has no task (or is gone), the daemon died, or the bound passed.
func (s *soak) waitInstance(id string, limit time.Duration) (compute.Instance, bool) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && !s.down() {
		var inst compute.Instance
		answered, err := s.req("GET", "/api/v1/instances/"+id, nil, &inst)
		if !answered || err != nil {
			return inst, false
		}
		if inst.TaskState == "" && inst.VMState != compute.VMBuilding {
			return inst, true
		}
		time.Sleep(soakPoll)
	}
	return compute.Instance{}, false
}

// tearDown deletes everything the soak made, waits for it to go, and checks once more that nothing
// is left: the end of a run is one more moment at which orphans would show.
func (s *soak) tearDown() {
	for _, inst := range s.instances() {
		s.deleteInstance(inst.ID)
	}
	for id := range s.tracked {
		s.waitGoneOrFailed(id)
	}
	for _, list := range []string{"port-forwards", "floating-ips", "snapshots", "volumes", "ports", "security-groups", "networks"} {
		var items []struct{ ID, Name string }
		if err := s.c.Do("GET", "/api/v1/"+list, nil, &items); err != nil {
			s.t.Fatalf("list %s: %v", list, err)
		}
		for _, it := range items {
			if it.Name != "default" {
				s.c.Do("DELETE", "/api/v1/"+list+"/"+it.ID, nil, nil)
			}
		}
	}
	s.checkAfterRestart()
}

// waitGoneOrFailed waits until a deleted instance is gone (or in error, which checkAfterRestart reports).
func (s *soak) waitGoneOrFailed(id string) {
	deadline := time.Now().Add(soakSettleWait)
	for time.Now().Before(deadline) {
		var inst compute.Instance
		err := s.c.Do("GET", "/api/v1/instances/"+id, nil, &inst)
		if apiErr, ok := err.(*client.Error); ok && apiErr.Code == 404 || err == nil && inst.TaskState == "" {
			return
		}
		sleepPoll()
	}
}
