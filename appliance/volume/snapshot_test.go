package volume

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"cloudlet/appliance/fault"
)

// Data written before a snapshot stays readable in it after more writes to the volume, and a
// revert brings it back.
func TestSnapshotOfflineAndRevert(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", ImageID: "img"})
	dir := filepath.Dir(v.Path)
	qemuIO(t, v.Path, "qcow2", "write -P 0x11 0 64k")
	sn := e.snapshot("data", "before")
	first := v.Path
	v = e.get("data")
	qemuIO(t, v.Path, "qcow2", "write -P 0x22 0 64k")

	// The active file stayed where it was and became the snapshot; the overlay is the new active file.
	if sn.Status != StatusAvailable || sn.Path != first || v.Path != filepath.Join(dir, "active-"+sn.ID+".qcow2") || sn.VolumeID != v.ID ||
		sn.SizeGiB != 1 || sn.Backing != e.img.Path || sn.Depth != 1 || sn.BaseImageID != e.img.ID {
		t.Fatalf("snapshot %+v", sn)
	}
	if !readsAs(sn.Path, "0x11") || !readsAs(v.Path, "0x22") {
		t.Fatal("snapshot or volume data wrong")
	}
	if got, want := files(t, dir), []string{"active-" + sn.ID + ".qcow2", "active.qcow2"}; !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
	ls := chain(t, v.Path)
	if len(ls) != 3 || ls[0].Backing != sn.Path || ls[1].Backing != e.img.Path {
		t.Fatalf("chain %+v", ls)
	}
	if ref := headerBacking(t, v.Path); ref != "active.qcow2" {
		t.Errorf("overlay's header names %q, want the old active file by relative name", ref)
	}
	got := e.get("data")
	if got.Path != v.Path || got.Backing != sn.Path || got.Depth != 2 || got.Status != StatusAvailable || got.Task != "" {
		t.Fatalf("volume after snapshot %+v", got)
	}
	if ev := strings.Join(e.events(sn.ID), " "); ev != "snapshot.created snapshot.state" {
		t.Errorf("snapshot events %s", ev)
	}

	reverted, err := e.svc.Revert(ctx, proj, "data", "before")
	if err != nil {
		t.Fatal(err)
	}
	if !readsAs(v.Path, "0x11") || reverted.Backing != sn.Path || reverted.Path != v.Path || reverted.Status != StatusAvailable {
		t.Fatalf("after revert: %+v", reverted)
	}
	qemuIO(t, v.Path, "qcow2", "write -P 0x33 0 64k")
	if !readsAs(sn.Path, "0x11") {
		t.Error("writes after a revert reached the snapshot")
	}
	if got := files(t, dir); len(got) != 2 {
		t.Errorf("files after revert %v", got)
	}
}

func TestRevertRefused(t *testing.T) {
	e := newEnv(t)
	e.create(CreateRequest{Name: "a", SizeGiB: 1})
	e.create(CreateRequest{Name: "b", SizeGiB: 1})
	e.snapshot("a", "sa")
	e.snapshot("b", "sb")
	_, err := e.svc.Revert(ctx, proj, "a", "sb")
	wantKind(t, err, fault.Invalid)
	e.attach("a", "inst-1", "vdb")
	_, err = e.svc.Revert(ctx, proj, "a", "sa")
	wantKind(t, err, fault.Conflict)
	if !strings.Contains(err.Error(), "inst-1") {
		t.Errorf("refusal %q does not name the instance", err)
	}
}

// A snapshot of an in-use volume goes through Live.Snapshot with the overlay, and ends in the
// same layout as an offline one.
func TestSnapshotLive(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	dir := filepath.Dir(v.Path)
	e.attach("data", "inst-1", "vdb")
	sn := e.snapshot("data", "live")
	overlay := filepath.Join(dir, "active-"+sn.ID+".qcow2")
	want := fmt.Sprintf("snapshot inst-1 %s %s", v.ID, overlay)
	if calls := e.live.Calls(); !slices.Equal(calls, []string{want}) {
		t.Fatalf("live calls %v, want %s", calls, want)
	}
	if e.live.overlays[overlay] != sn.Path {
		t.Errorf("overlay's backing file was %q when QEMU got it, want %s", e.live.overlays[overlay], sn.Path)
	}
	if got, want := files(t, dir), []string{"active-" + sn.ID + ".qcow2", "active.qcow2"}; !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
	got := e.get("data")
	if got.Path != overlay || sn.Path != v.Path || got.Backing != sn.Path || got.Depth != 1 || got.Status != StatusInUse || got.Task != "" || sn.Status != StatusAvailable {
		t.Fatalf("volume %+v, snapshot %+v", got, sn)
	}
	if ls := chain(t, got.Path); len(ls) != 2 || ls[0].Backing != sn.Path {
		t.Fatalf("chain %+v", ls)
	}
}

func TestSnapshotLiveFailure(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	qemuIO(t, v.Path, "qcow2", "write -P 0x11 0 64k")
	e.attach("data", "inst-1", "vdb")
	e.live.fail(errors.New("blockdev-snapshot: boom"))
	_, err := e.createSnapshot(proj, "data", "s")
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("snapshot with a failing live driver: %v", err)
	}
	if got := files(t, filepath.Dir(v.Path)); !slices.Equal(got, []string{"active.qcow2"}) {
		t.Errorf("files %v", got)
	}
	if snaps, _ := e.svc.Snapshots(ctx, proj, ""); len(snaps) != 0 {
		t.Errorf("snapshots %+v", snaps)
	}
	got := e.get("data")
	if got.Status != StatusInUse || got.Task != "" || got.Backing != "" || !readsAs(v.Path, "0x11") {
		t.Fatalf("volume %+v", got)
	}

	e.live.fail(fmt.Errorf("instance inst-1: %w", errNotRunning)) // a stopped instance: the files are renamed offline
	sn := e.snapshot("data", "s")
	if got := e.get("data"); got.Backing != sn.Path || sn.Path != v.Path || !readsAs(sn.Path, "0x11") || !readsAs(got.Path, "0x11") {
		t.Fatalf("snapshot of a stopped instance's volume: %+v", got)
	}
}

// Past the chain limit an available volume is flattened (copied) before the snapshot.
func TestChainLimit(t *testing.T) {
	e := newEnv(t)
	e.o.MaxChain = 3
	e.start()
	v := e.create(CreateRequest{Name: "data", ImageID: "img"}) // depth 1: the image
	qemuIO(t, v.Path, "qcow2", "write -P 0x11 64k 64k")
	e.snapshot("data", "s1")
	e.snapshot("data", "s2")
	v = e.get("data")
	if v.Depth != 3 {
		t.Fatalf("depth %d, want 3", v.Depth)
	}
	s3 := e.snapshot("data", "s3")
	got := e.get("data")
	if s3.Backing != "" || s3.Depth != 0 || s3.BaseImageID != "" || s3.Path != v.Path || got.Depth != 1 || got.Backing != s3.Path || got.BaseImageID != "" {
		t.Fatalf("after flatten: volume %+v, snapshot %+v", got, s3)
	}
	if ls := chain(t, got.Path); len(ls) != 2 {
		t.Fatalf("chain %+v", ls)
	}
	if !readsAs(got.Path, "0xab") || !reads(got.Path, "read -P 0x11 64k 64k") {
		t.Error("flatten lost data")
	}
	if len(e.holdersOf(e.img.ID)) == 0 {
		t.Error("the older snapshots still need the image")
	}
	if calls := e.live.Calls(); len(calls) != 0 {
		t.Errorf("live calls for an available volume: %v", calls)
	}
}

// Past the chain limit an in-use volume is streamed by its QEMU (Live.Stream), then snapshotted
// live; its data is intact. A stopped instance's volume is flattened offline.
func TestChainLimitInUse(t *testing.T) {
	e := newEnv(t)
	e.o.MaxChain = 3
	e.start()
	v := e.create(CreateRequest{Name: "data", ImageID: "img"})
	qemuIO(t, v.Path, "qcow2", "write -P 0x11 64k 64k")
	e.attach("data", "inst-1", "vdb")
	s1 := e.snapshot("data", "s1")
	qemuIO(t, e.get("data").Path, "qcow2", "write -P 0x22 128k 64k")
	e.snapshot("data", "s2")
	before := e.get("data")
	if before.Depth != 3 {
		t.Fatalf("depth %d, want 3", before.Depth)
	}
	s3 := e.snapshot("data", "s3")
	got := e.get("data")
	calls := e.live.Calls()
	wantLast := []string{"stream inst-1 " + v.ID, fmt.Sprintf("snapshot inst-1 %s %s", v.ID, got.Path)}
	if len(calls) != 4 || !slices.Equal(calls[2:], wantLast) {
		t.Fatalf("live calls %v, want the stream then the snapshot last", calls)
	}
	if s3.Path != before.Path || s3.Backing != "" || s3.Depth != 0 || s3.BaseImageID != "" ||
		got.Depth != 1 || got.Backing != s3.Path || got.Status != StatusInUse || got.Task != "" {
		t.Fatalf("after stream: volume %+v, snapshot %+v", got, s3)
	}
	if ls := chain(t, got.Path); len(ls) != 2 {
		t.Fatalf("chain %+v", ls)
	}
	for _, c := range []string{"read -P 0xab 0 64k", "read -P 0x11 64k 64k", "read -P 0x22 128k 64k"} {
		if !reads(got.Path, c) {
			t.Errorf("%s failed after the stream", c)
		}
	}
	if !readsAs(s1.Path, "0xab") || !reads(s1.Path, "read -P 0x11 64k 64k") {
		t.Error("the older snapshot's chain was damaged")
	}
	if files := files(t, filepath.Dir(v.Path)); len(files) != 4 {
		t.Errorf("files %v, want the 3 snapshots and the active file", files)
	}

	// Another stream failure aborts the snapshot, leaving everything as it was.
	e.snapshot("data", "s4")
	e.snapshot("data", "s5")
	before = e.get("data")
	e.live.fail(errors.New("block-stream: boom"))
	if _, err := e.createSnapshot(proj, "data", "s6"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("snapshot with a failing stream: %v", err)
	}
	if got := e.get("data"); got.Path != before.Path || got.Backing != before.Backing || got.Depth != 3 || got.Task != "" {
		t.Fatalf("volume after a failed stream %+v, was %+v", got, before)
	}

	// A stopped instance: flattened offline.
	e.live.fail(fmt.Errorf("instance inst-1: %w", errNotRunning))
	s6 := e.snapshot("data", "s6")
	if got := e.get("data"); got.Depth != 1 || s6.Depth != 0 || !reads(got.Path, "read -P 0x22 128k 64k") {
		t.Fatalf("offline flatten of a stopped instance's volume: %+v", got)
	}
}

// Deleting a snapshot merges it out of the chain: the files above it are rebased and read the
// same.
func TestDeleteSnapshot(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", ImageID: "img"})
	qemuIO(t, v.Path, "qcow2", "write -P 0x11 64k 64k")
	s1 := e.snapshot("data", "s1")
	qemuIO(t, e.get("data").Path, "qcow2", "write -P 0x22 128k 64k")
	s2 := e.snapshot("data", "s2")
	v = e.get("data")
	qemuIO(t, v.Path, "qcow2", "write -P 0x33 192k 64k")

	if err := e.svc.DeleteSnapshot(ctx, proj, "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s1.Path); !os.IsNotExist(err) {
		t.Errorf("snapshot file still there: %v", err)
	}
	got, _ := e.svc.Snapshot(ctx, proj, "s2")
	if got.Backing != e.img.Path || got.BackingFormat != "qcow2" || got.Depth != 1 {
		t.Fatalf("s2 after merge %+v", got)
	}
	if ls := chain(t, s2.Path); len(ls) != 2 || ls[0].Backing != e.img.Path {
		t.Fatalf("s2 chain %+v", ls)
	}
	for _, c := range []string{"read -P 0xab 0 64k", "read -P 0x11 64k 64k", "read -P 0x22 128k 64k", "read -P 0x33 192k 64k"} {
		if !reads(v.Path, c) {
			t.Errorf("%s failed", c)
		}
	}
	if vol := e.get("data"); vol.Depth != 2 || vol.Status != StatusAvailable || vol.Task != "" {
		t.Errorf("volume %+v", vol)
	}

	// The newest snapshot: the active file is rebased onto the image.
	if err := e.svc.DeleteSnapshot(ctx, proj, "s2"); err != nil {
		t.Fatal(err)
	}
	vol := e.get("data")
	if vol.Backing != e.img.Path || vol.Depth != 1 || !readsAs(v.Path, "0xab") || !reads(v.Path, "read -P 0x22 128k 64k") {
		t.Fatalf("volume after merging its last snapshot: %+v", vol)
	}
	if got := files(t, filepath.Dir(v.Path)); !slices.Equal(got, []string{filepath.Base(v.Path)}) {
		t.Errorf("files %v", got)
	}
	if ev := e.events(s2.ID); ev[len(ev)-1] != "snapshot.deleted" {
		t.Errorf("events %v", ev)
	}
}

func TestDeleteSnapshotRefused(t *testing.T) {
	e := newEnv(t)
	e.create(CreateRequest{Name: "data", SizeGiB: 1})
	e.snapshot("data", "base")
	dep := e.create(CreateRequest{Name: "dep", SnapshotID: "base"})
	err := e.svc.DeleteSnapshot(ctx, proj, "base")
	wantKind(t, err, fault.Conflict)
	if !strings.Contains(err.Error(), "volume dep ("+dep.ID+")") {
		t.Errorf("refusal %q does not name the dependent volume", err)
	}
	e.snapshot("data", "running")
	e.attach("data", "inst-1", "vdb")
	err = e.svc.DeleteSnapshot(ctx, proj, "running")
	wantKind(t, err, fault.Conflict)
	if !strings.Contains(err.Error(), "inst-1") {
		t.Errorf("refusal %q does not name the instance", err)
	}
	if sn, _ := e.svc.Snapshot(ctx, proj, "running"); sn.Status != StatusAvailable || !fileExists(sn.Path) {
		t.Errorf("refused snapshot %+v", sn)
	}
	if got := e.get("data"); got.Task != "" || got.Status != StatusInUse {
		t.Errorf("volume %+v", got)
	}
}

// A snapshot on a branch QEMU does not use (after a revert) can go while the volume is in use;
// one in the running chain cannot.
func TestDeleteSnapshotOffBranchWhileInUse(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	qemuIO(t, v.Path, "qcow2", "write -P 0x11 0 64k")
	e.snapshot("data", "s1")
	qemuIO(t, e.get("data").Path, "qcow2", "write -P 0x22 0 64k")
	s2 := e.snapshot("data", "s2")
	if _, err := e.svc.Revert(ctx, proj, "data", "s1"); err != nil {
		t.Fatal(err)
	}
	e.attach("data", "inst-1", "vdb")
	if err := e.svc.DeleteSnapshot(ctx, proj, "s2"); err != nil {
		t.Fatal(err)
	}
	if fileExists(s2.Path) {
		t.Error("snapshot file still there")
	}
	wantKind(t, e.svc.DeleteSnapshot(ctx, proj, "s1"), fault.Conflict)
	if got := e.get("data"); got.Status != StatusInUse || got.Task != "" || !readsAs(got.Path, "0x11") {
		t.Errorf("volume %+v", got)
	}
}

// Snapshots requested at once on one volume either succeed or are refused as busy; the chain
// matches the records whatever the interleaving.
func TestConcurrentSnapshots(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.createSnapshot(proj, "data", fmt.Sprintf("s%d", i))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case fault.KindOf(err) != fault.Conflict:
			t.Errorf("snapshot failed: %v", err)
		}
	}
	got := e.get("data")
	if ls := chain(t, got.Path); ok == 0 || got.Depth != ok || len(ls) != ok+1 || ls[0].Backing != got.Backing || got.Task != "" {
		t.Fatalf("%d snapshots made; volume %+v; chain %+v", ok, got, ls)
	}
	if names := files(t, filepath.Dir(v.Path)); len(names) != ok+1 {
		t.Errorf("files %v", names)
	}
}

// With an Owner, every file QEMU opens read-write belongs to it.
func TestOwner(t *testing.T) {
	e := newEnv(t)
	e.o.Owner = &syscall.Credential{Uid: 65534, Gid: 65534}
	e.start()
	v := e.create(CreateRequest{Name: "data", ImageID: "img"})
	e.attach("data", "inst-1", "vdb")
	sn := e.snapshot("data", "s")
	for _, path := range []string{filepath.Dir(v.Path), e.get("data").Path, sn.Path} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
			t.Errorf("%s owned by %d:%d", path, st.Uid, st.Gid)
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// headerBacking is the backing file name as written in path's header.
func headerBacking(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("qemu-img", "info", "-U", "-f", "qcow2", "--output=json", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Backing string `json:"backing-filename"`
	}
	json.Unmarshal(out, &info)
	return info.Backing
}
