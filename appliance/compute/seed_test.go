package compute

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/qemu"
	"cloudlet/store"
)

// fakeSeeds writes the kind and user-data as the seed and records every request.
type fakeSeeds struct {
	mu   sync.Mutex // guards the fields below
	got  []SeedRequest
	fail error
}

func (f *fakeSeeds) WriteSeed(_ context.Context, r SeedRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.got = append(f.got, r)
	return os.WriteFile(r.Path, []byte(r.Kind+"\n"+string(r.Guest.UserData)), 0o600)
}

func (f *fakeSeeds) last(t *testing.T) SeedRequest {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) == 0 {
		t.Fatal("no seed was written")
	}
	return f.got[len(f.got)-1]
}

func (f *fakeSeeds) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func seedEnv(t *testing.T) (*env, *fakeSeeds) {
	seeds := &fakeSeeds{}
	e := newEnv(t, func(o *Options) {
		o.Seeds = seeds
		o.Credential = &syscall.Credential{Uid: 4242, Gid: 4343}
	})
	return e, seeds
}

func (e *env) createGuest(r CreateRequest) *Instance {
	e.t.Helper()
	r.ProjectID, r.Flavor, r.Image = testProject, "m1.tiny", "img"
	inst, err := e.svc.Create(context.Background(), r)
	if err != nil {
		e.t.Fatalf("create %s: %v", r.Name, err)
	}
	return e.waitFor(inst.ID, VMActive, PowerRunning)
}

// A start writes the seed into the state dir with what the guest is given, for QEMU's user, and attaches it.
func TestAStartWritesTheSeedWithTheGuestsDataAndAttachesIt(t *testing.T) {
	e, seeds := seedEnv(t)
	inst := e.createGuest(CreateRequest{Name: "web", UserData: b64("#!/bin/sh\necho hi\n"), Password: "pw",
		Metadata: map[string]string{"role": "db"}})
	r := seeds.last(t)
	want := filepath.Join(e.svc.stateDir(inst.ID), "seed.iso")
	switch {
	case r.Path != want || r.Kind != ConfigDriveNoCloud || r.UID != 4242 || r.GID != 4343:
		t.Errorf("seed request path %s kind %s owner %d:%d; want %s nocloud 4242:4343", r.Path, r.Kind, r.UID, r.GID, want)
	case string(r.Guest.UserData) != "#!/bin/sh\necho hi\n" || !strings.HasPrefix(r.Guest.PasswordHash, "$6$"):
		t.Errorf("guest data %q %q; want the user-data and a $6$ hash", r.Guest.UserData, r.Guest.PasswordHash)
	case r.Instance.Hostname != "web" || r.Instance.Metadata["role"] != "db" || r.Instance.ID != inst.ID:
		t.Errorf("seed instance hostname %q metadata %v", r.Instance.Hostname, r.Instance.Metadata)
	}
	if got := e.hv.lastSpec(t).Seed; got != want {
		t.Errorf("QEMU's seed %q; want %q", got, want)
	}
	if fi, err := os.Stat(want); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("seed file: %v %v; want mode 0600", fi, err)
	}
}

// config_drive none attaches nothing and leaves no seed; configdrive asks for a config drive.
func TestConfigDriveChoosesTheSeedKindAndNoneAttachesNothing(t *testing.T) {
	e, seeds := seedEnv(t)
	e.createGuest(CreateRequest{Name: "cd", ConfigDrive: ConfigDriveOpenStack})
	if r := seeds.last(t); r.Kind != ConfigDriveOpenStack {
		t.Errorf("kind %q; want configdrive", r.Kind)
	}
	n := seeds.count()
	inst := e.createGuest(CreateRequest{Name: "none", ConfigDrive: ConfigDriveNone})
	if seeds.count() != n || e.hv.lastSpec(t).Seed != "" {
		t.Errorf("config_drive none wrote or attached a seed (%d writes, seed %q)", seeds.count()-n, e.hv.lastSpec(t).Seed)
	}
	if _, err := os.Stat(filepath.Join(e.svc.stateDir(inst.ID), "seed.iso")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config_drive none left a seed: %v", err)
	}
}

// A start that fails after the seed step removes the seed it wrote, also from a state dir that stays.
func TestAStartFailingAfterTheSeedRemovesIt(t *testing.T) {
	e, _ := seedEnv(t)
	inst := e.createGuest(CreateRequest{Name: "web"})
	seed := filepath.Join(e.svc.stateDir(inst.ID), "seed.iso")
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if err := os.Remove(seed); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	e.hv.mu.Lock()
	e.hv.failStart = errors.New("no qemu today")
	e.hv.mu.Unlock()
	if _, err := e.svc.Act(context.Background(), testProject, inst.ID, ActStart, ActionArgs{}); err != nil {
		t.Fatal(err)
	}
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if _, err := os.Stat(e.svc.stateDir(inst.ID)); err != nil {
		t.Fatalf("the state dir of a stopped instance went: %v", err)
	}
	if _, err := os.Stat(seed); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed start left its seed: %v", err)
	}
}

// A rebuild writes the seed again with what it replaced (Nova's rebuild: user-data, password and
// metadata when given; the rest kept), and delete removes the seed with the state dir and secrets.
func TestARebuildRegeneratesTheSeedAndDeleteRemovesIt(t *testing.T) {
	e, seeds := seedEnv(t)
	inst := e.createGuest(CreateRequest{Name: "web", UserData: b64("old"), Metadata: map[string]string{"a": "1"}})
	before := seeds.count()
	if _, err := e.svc.Act(context.Background(), testProject, inst.ID, ActRebuild, ActionArgs{UserData: b64("new")}); err != nil {
		t.Fatal(err)
	}
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if seeds.count() != before+1 { // the rebuilt instance runs: its boot wrote the seed
		t.Fatalf("%d seeds written by the rebuild; want 1", seeds.count()-before)
	}
	r := seeds.last(t)
	if string(r.Guest.UserData) != "new" || r.Instance.Metadata["a"] != "1" || got.UserDataSize != 3 {
		t.Errorf("rebuilt seed user-data %q metadata %v size %d; want new, the kept metadata, 3", r.Guest.UserData, r.Instance.Metadata, got.UserDataSize)
	}
	e.act(inst.ID, ActDelete)
	waitGone(t, e, inst.ID)
	if _, err := os.Stat(r.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the seed outlived its instance: %v", err)
	}
	err := e.db.View(func(tx *store.Tx) error { _, err := secrets.Get(tx, inst.ID); return err })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the instance's secrets outlived it: %v", err)
	}
}

func waitGone(t *testing.T, e *env, id string) {
	t.Helper()
	for range 1000 {
		if _, err := e.svc.Get(context.Background(), testProject, id); fault.KindOf(err) == fault.NotFound {
			return
		}
		sleepMs(10)
	}
	t.Fatalf("instance %s was not deleted", id)
}

// lastSpec is the spec of the last QEMU started.
func (h *fakeHV) lastSpec(t *testing.T) qemu.Spec {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.starts) == 0 {
		t.Fatal("no QEMU was started")
	}
	return h.starts[len(h.starts)-1]
}

// A daemon restart reattaches to the running QEMU and leaves its seed as it is: no seed is written.
func TestReattachDoesNotRewriteTheSeedOfARunningQEMU(t *testing.T) {
	e, seeds := seedEnv(t)
	inst := e.createGuest(CreateRequest{Name: "web"})
	before := seeds.count()
	e.svc.Close()
	e.start()
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if got := seeds.count(); got != before {
		t.Errorf("%d seeds written by a restart; want none", got-before)
	}
}

// A resume attaches the seed again when the boot that saved the state had one, and none when it had
// none (an instance suspended before seeds existed): a saved state restores only into the same devices.
func TestAResumeKeepsTheSeedOfTheBootThatSavedTheState(t *testing.T) {
	e, _ := seedEnv(t)
	inst := e.createGuest(CreateRequest{Name: "web"})
	seed := filepath.Join(e.svc.stateDir(inst.ID), "seed.iso")
	for _, hadSeed := range []bool{true, false} {
		e.act(inst.ID, ActSuspend)
		e.waitFor(inst.ID, VMSuspended, PowerSuspended)
		if !hadSeed {
			if err := os.Remove(seed); err != nil {
				t.Fatal(err)
			}
		}
		e.act(inst.ID, ActResume)
		e.waitFor(inst.ID, VMActive, PowerRunning)
		if got := e.hv.lastSpec(t).Seed != ""; got != hadSeed {
			t.Errorf("the boot before had a seed: %v; the resume attached one: %v", hadSeed, got)
		}
	}
}
