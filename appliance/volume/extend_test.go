package volume

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

func TestExtendOffline(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", ImageID: "img"})
	got, err := e.extend(proj, "data", 3)
	if err != nil {
		t.Fatal(err)
	}
	if got.SizeGiB != 3 || got.Status != StatusAvailable || got.Task != "" {
		t.Fatalf("after extend: %+v", got)
	}
	if size := chain(t, v.Path)[0].VirtualSize; size != 3<<30 {
		t.Errorf("virtual size %d, want 3 GiB", size)
	}
	if !readsAs(v.Path, "0xab") {
		t.Error("data lost")
	}
	for _, size := range []int{3, 2, 0, -1, MaxSizeGiB + 1} {
		_, err := e.extend(proj, "data", size)
		wantKind(t, err, fault.Invalid)
	}
	if size := chain(t, v.Path)[0].VirtualSize; size != 3<<30 {
		t.Errorf("virtual size %d after refused shrinks", size)
	}
	if ev := e.events(v.ID); !slices.Contains(ev, "volume.extended") {
		t.Errorf("events %v", ev)
	}
	if len(e.live.Calls()) != 0 {
		t.Errorf("live calls for an available volume: %v", e.live.Calls())
	}
}

func TestExtendOnline(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	e.attach("data", "inst-1", "vdb")
	got, err := e.extend(proj, "data", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("resize inst-1 %s %d", v.ID, int64(2)<<30)
	if calls := e.live.Calls(); !slices.Equal(calls, []string{want}) {
		t.Fatalf("live calls %v, want %s", calls, want)
	}
	if got.SizeGiB != 2 || got.Status != StatusInUse || got.Attachment == nil {
		t.Fatalf("after extend: %+v", got)
	}
	if size := chain(t, v.Path)[0].VirtualSize; size != 1<<30 {
		t.Errorf("qemu-img resized the file QEMU holds (virtual size %d)", size)
	}

	// A live failure leaves the size and the status, with the reason in fault.
	e.live.fail(errors.New("block_resize: boom"))
	_, err = e.extend(proj, "data", 5)
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("extend with a failing live driver: %v", err)
	}
	if got := e.get("data"); got.SizeGiB != 2 || got.Status != StatusInUse || !strings.Contains(got.Fault, "boom") {
		t.Fatalf("after failed extend: %+v", got)
	}

	// An instance that is not running: the service resizes the file itself.
	e.live.fail(fmt.Errorf("instance inst-1: %w", errNotRunning))
	if got, err = e.extend(proj, "data", 4); err != nil {
		t.Fatal(err)
	}
	if size := chain(t, v.Path)[0].VirtualSize; size != 4<<30 || got.SizeGiB != 4 || got.Fault != "" {
		t.Errorf("offline fallback: virtual size %d, record %+v", size, got)
	}
}
