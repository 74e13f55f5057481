package e2e

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloudlet/appliance/crashpoint"
)

// Environment of the crash-cycle harness. `make soak CYCLES=N` sets the first; the second replays a run.
const (
	soakCyclesEnv = "CLOUDLET_SOAK_CYCLES" // how many kill-and-restart cycles (default soakShortCycles)
	soakSeedEnv   = "CLOUDLET_SOAK_SEED"   // the seed of the random sequence (default: the clock's)
)

// soakShortCycles is the short run of `make test`: every named crash point is hit on purpose twice
// (every second cycle is armed) within the e2e package's budget.
func soakShortCycles() int { return 4 * len(crashpoint.All) }

// Crash-cycle harness (issue 11): the real daemon is driven through random sequences of instance,
// volume and network actions and killed with SIGKILL, at a random moment or on purpose at a named
// crash point, and restarted, again and again. After every kill the catalog passes its Check and
// QEMU's run state agrees with the record; after every restart every instance settles, nothing the
// client made is lost or comes back, and nothing is left without its record: no QEMU, tap, bridge,
// firewall rule, floating address, volume file, pidfile, socket or temp file.
func TestCrashCycles(t *testing.T) {
	cycles, seed := soakParams(t)
	t.Logf("soak: %d cycles, seed %d (replay: %s=%d)", cycles, seed, soakSeedEnv, seed)
	s := newSoak(t, seed)
	for i := range cycles {
		s.cycle(i)
		if t.Failed() {
			t.Logf("soak: failed in cycle %d (seed %d)", i, seed)
			break
		}
	}
	if !t.Failed() {
		s.tearDown()
	}
	s.requireEveryPointHit(cycles)
	if s.lost > 0 || s.orphans > 0 {
		t.Errorf("soak: %d lost instances, %d orphans (seed %d)", s.lost, s.orphans, seed)
	}
	s.summary(cycles)
}

// soakParams reads the cycle count and seed from the environment.
func soakParams(t *testing.T) (int, uint64) {
	t.Helper()
	cycles, seed := soakShortCycles(), uint64(time.Now().UnixNano())
	if v := os.Getenv(soakCyclesEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", soakCyclesEnv, v)
		}
		cycles = n
	}
	if v := os.Getenv(soakSeedEnv); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned number", soakSeedEnv, v)
		}
		seed = n
	}
	return cycles, seed
}

// cycle runs one kill-and-restart: every second cycle is armed at the next named crash point and
// drives the action that reaches it; the others run random actions until a timer kills the daemon.
// The checks run twice: with the daemon down (catalog, QEMU's run state) and after the restart.
func (s *soak) cycle(i int) {
	s.t.Helper()
	if i%2 == 1 {
		point := crashpoint.All[(i/2)%len(crashpoint.All)]
		s.armedCycle(point)
	} else {
		s.randomCycle()
	}
	s.checkWhileDown()
	s.start("")
	if !s.waitReady() {
		s.t.Fatalf("the daemon died while it started unarmed: %v\nstderr:\n%s", s.c.D.waitErr, s.c.D.Stderr())
	}
	s.checkAfterRestart()
	s.cycles++
}

// requireEveryPointHit fails if a run long enough to arm every named point missed one.
func (s *soak) requireEveryPointHit(cycles int) {
	if cycles < 2*len(crashpoint.All) || s.t.Failed() {
		return
	}
	for _, p := range crashpoint.All {
		if s.hits[p] == 0 {
			s.t.Errorf("soak: crash point %s was never hit (%d armed cycles could not drive its action)", p, s.missed[p])
		}
	}
}

// summary logs the counts and prints the one line `make soak` ends with.
func (s *soak) summary(cycles int) {
	var points []string
	total := 0
	for p, n := range s.hits {
		points = append(points, fmt.Sprintf("%s=%d", p, n))
		total += n
	}
	slices.Sort(points)
	s.t.Logf("soak: %d of %d cycles; %d random kills; crash points hit: %s; armed cycles that could not drive their action: %v",
		s.cycles, cycles, s.randomKills, strings.Join(points, " "), s.missed)
	fmt.Printf("soak summary: %d cycles, %d crash points hit, %d lost instances, %d orphans\n",
		s.cycles, total, s.lost, s.orphans)
}
