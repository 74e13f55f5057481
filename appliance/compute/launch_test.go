package compute

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func stepNames(steps []step) []string {
	var out []string
	for _, st := range steps {
		out = append(out, st.name)
	}
	return out
}

func TestAStartIsTheseNamedStepsInOrder(t *testing.T) {
	want := []string{"state dir", "ports", "boot volume", "volumes", "cdroms", "taps", "seed", "qemu", "monitor", "record running"}
	if diff := cmp.Diff(want, stepNames(launchSteps())); diff != "" {
		t.Errorf("start steps (-want +got):\n%s", diff)
	}
}

// A spawn that fails at step k undoes steps k-1..1, in reverse, and leaves nothing of what they made:
// no state dir, port, boot volume, open tap, QEMU or runtime file. The instance is in error naming the
// step and the cause.
func TestASpawnFailingAtAnyStepUndoesTheStepsBeforeItInReverseAndLeavesNothing(t *testing.T) {
	names := stepNames(launchSteps())
	for k, failing := range names {
		t.Run(failing, func(t *testing.T) {
			nets := newFakeNetworks()
			nets.addNetwork(testProject, "lan")
			e := newEnv(t, func(o *Options) { o.Networks = nets })
			var undone []string
			e.svc.steps = undoRecorded(e.svc.steps, &undone)
			e.svc.steps[k].do = func(*launch, context.Context) error { return errors.New("boom") }
			fdsBefore := devNullFDs(t)

			inst, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: testProject, Name: "web",
				Flavor: "m1.tiny", Image: "img", Networks: []string{"lan"}})
			if err != nil {
				t.Fatal(err)
			}
			got := e.waitFor(inst.ID, VMError, PowerNoState)

			want := slices.Clone(names[:k])
			slices.Reverse(want)
			if !slices.Equal(want, undone) {
				t.Errorf("undone %q, want %q (the steps before %q, in reverse)", undone, want, failing)
			}
			if !strings.Contains(got.Fault, failing+": boom") {
				t.Errorf("fault %q: want it to name step %q and its error", got.Fault, failing)
			}
			assertNothingLeft(t, e, nets, got)
			if n := devNullFDs(t); n != fdsBefore {
				t.Errorf("%d tap fds open, want %d: the taps opened for QEMU must be closed", n, fdsBefore)
			}
		})
	}
}

// undoRecorded wraps every step's undo so that it appends the step's name to undone when it runs.
func undoRecorded(steps []step, undone *[]string) []step {
	out := slices.Clone(steps)
	for i, st := range out {
		out[i].undo = func(l *launch, ctx context.Context) {
			*undone = append(*undone, st.name)
			if st.undo != nil {
				st.undo(l, ctx)
			}
		}
	}
	return out
}

// assertNothingLeft checks that a failed first boot left no state dir, port, volume, QEMU or run dir.
func assertNothingLeft(t *testing.T, e *env, nets *fakeNetworks, inst *Instance) {
	t.Helper()
	if _, err := os.Stat(e.svc.stateDir(inst.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir left: %v", err)
	}
	if _, err := os.Stat(e.svc.runDir(inst.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run dir left: %v", err)
	}
	if n := nets.count(); n != 0 {
		t.Errorf("%d ports left", n)
	}
	if n := e.vols.count(); n != 0 {
		t.Errorf("%d volumes left", n)
	}
	if p := e.hv.proc(inst.ID); p != nil && !p.killed {
		select {
		case <-p.exited:
		default:
			t.Errorf("QEMU (pid %d) left running", p.pid)
		}
	}
	if inst.PortIDs != nil || inst.BootVolumeID != "" || inst.PID != 0 {
		t.Errorf("record still names ports %v, boot volume %q, pid %d", inst.PortIDs, inst.BootVolumeID, inst.PID)
	}
}

// devNullFDs counts this process's open fds on /dev/null (the fake taps).
func devNullFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ent := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", ent.Name())); err == nil && target == os.DevNull {
			n++
		}
	}
	return n
}
