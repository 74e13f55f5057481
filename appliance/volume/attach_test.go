package volume

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"cloudlet/appliance/fault"
)

// The attachment state machine: every call from every state.
func TestAttachStateMachine(t *testing.T) {
	type step struct {
		call       string // reserve, attached, unreserve, detached
		want       fault.Kind
		wantStatus string
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"attach and detach", []step{
			{"reserve", "", StatusReserved}, {"attached", "", StatusInUse}, {"detached", "", StatusAvailable}}},
		{"reserve twice", []step{
			{"reserve", "", StatusReserved}, {"reserve", fault.Conflict, StatusReserved}}},
		{"unreserve", []step{
			{"reserve", "", StatusReserved}, {"unreserve", "", StatusAvailable}, {"reserve", "", StatusReserved}}},
		{"detach a reservation", []step{
			{"reserve", "", StatusReserved}, {"detached", "", StatusAvailable}}},
		{"attached without reserve", []step{{"attached", fault.Conflict, StatusAvailable}}},
		{"unreserve without reserve", []step{{"unreserve", fault.Conflict, StatusAvailable}}},
		{"detach without attach", []step{{"detached", fault.Conflict, StatusAvailable}}},
		{"reserve in use", []step{
			{"reserve", "", StatusReserved}, {"attached", "", StatusInUse}, {"reserve", fault.Conflict, StatusInUse}}},
		{"attached twice", []step{
			{"reserve", "", StatusReserved}, {"attached", "", StatusInUse}, {"attached", fault.Conflict, StatusInUse}}},
		{"unreserve in use", []step{
			{"reserve", "", StatusReserved}, {"attached", "", StatusInUse}, {"unreserve", fault.Conflict, StatusInUse}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
			for i, s := range tc.steps {
				var err error
				switch s.call {
				case "reserve":
					_, err = e.svc.Reserve(ctx, proj, "data", "inst-1")
				case "attached":
					_, err = e.svc.Attached(ctx, v.ID, "vdb", false, true)
				case "unreserve":
					_, err = e.svc.Unreserve(ctx, v.ID)
				case "detached":
					_, err = e.svc.Detached(ctx, v.ID)
				}
				if got := fault.KindOf(err); (err == nil) != (s.want == "") || (err != nil && got != s.want) {
					t.Fatalf("step %d %s: err %v, want kind %q", i, s.call, err, s.want)
				}
				if got := e.get("data"); got.Status != s.wantStatus {
					t.Fatalf("step %d %s: status %s, want %s", i, s.call, got.Status, s.wantStatus)
				}
			}
		})
	}
}

func TestAttachDetails(t *testing.T) {
	e := newEnv(t)
	v := e.create(CreateRequest{Name: "data", SizeGiB: 1})
	if _, err := e.svc.Reserve(ctx, proj, "data", ""); fault.KindOf(err) != fault.Invalid {
		t.Errorf("reserve for no instance: %v", err)
	}
	if _, err := e.svc.Reserve(ctx, other, "data", "inst-1"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("reserve from another project: %v", err)
	}
	if _, err := e.svc.Reserve(ctx, proj, "data", "inst-1"); err != nil {
		t.Fatal(err)
	}
	for _, dev := range []string{"", "vdb,x", "../vdb", "-vdb", "vdB", "0vdb", "vd b", "averyveryverylongname"} {
		if _, err := e.svc.Attached(ctx, v.ID, dev, false, false); fault.KindOf(err) != fault.Invalid {
			t.Errorf("device %q: %v", dev, err)
		}
	}
	got, err := e.svc.Attached(ctx, v.ID, "vdc", true, true)
	if err != nil {
		t.Fatal(err)
	}
	want := Attachment{InstanceID: "inst-1", Device: "vdc", Boot: true, DeleteOnTermination: true}
	if got.Attachment == nil || *got.Attachment != want {
		t.Fatalf("attachment %+v, want %+v", got.Attachment, want)
	}
	err = e.svc.Delete(ctx, proj, "data")
	if fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "inst-1") {
		t.Errorf("delete while in use: %v", err)
	}
	if ev := e.events(v.ID); !slices.Contains(ev, "volume.attached") {
		t.Errorf("events %v", ev)
	}
	d := e.svc.DiskFor(got)
	if d != (Disk{VolumeID: v.ID, Path: v.Path, Format: "qcow2"}) {
		t.Errorf("disk %+v", d)
	}
}

// Twenty instances race for one volume: exactly one gets it.
func TestReserveRace(t *testing.T) {
	e := newEnv(t)
	e.create(CreateRequest{Name: "data", SizeGiB: 1})
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.svc.Reserve(ctx, proj, "data", fmt.Sprintf("inst-%d", i))
		}()
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("instances %d and %d both reserved the volume", won, i)
		case err == nil:
			won = i
		case fault.KindOf(err) != fault.Conflict:
			t.Errorf("loser %d: %v", i, err)
		}
	}
	if won < 0 {
		t.Fatal("nobody reserved the volume")
	}
	if got := e.get("data"); got.Attachment == nil || got.Attachment.InstanceID != fmt.Sprintf("inst-%d", won) {
		t.Fatalf("attachment %+v, winner %d", got.Attachment, won)
	}
}

func TestAttachedTo(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"c", "aa", "b", "hp10", "hp2", "pending", "elsewhere"} {
		e.create(CreateRequest{Name: name, SizeGiB: 1})
	}
	for name, dev := range map[string]string{"c": "vdc", "aa": "vdaa", "b": "vdb", "hp10": "hp10", "hp2": "hp2"} {
		e.attach(name, "inst-1", dev)
	}
	e.attach("elsewhere", "inst-2", "vdb")
	// The boot volume: created reserved for the instance, attached without a device name.
	root := e.create(CreateRequest{Name: "root", ImageID: "img", ReserveFor: "inst-1"})
	if root.Status != StatusReserved || root.Attachment == nil || root.Attachment.InstanceID != "inst-1" {
		t.Fatalf("boot volume %+v", root)
	}
	if _, err := e.svc.Attached(ctx, root.ID, "", true, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Reserve(ctx, proj, "pending", "inst-1"); err != nil {
		t.Fatal(err)
	}
	vols, err := e.svc.AttachedTo(ctx, "inst-1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vols {
		got = append(got, v.Name)
	}
	if want := []string{"root", "hp2", "b", "c", "hp10", "aa", "pending"}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if vols, _ := e.svc.AttachedTo(ctx, "inst-3"); len(vols) != 0 {
		t.Errorf("volumes of an instance with none: %v", vols)
	}
}

// Reservations lists reserved volumes only (not attached ones), of one instance or of all; a boot
// volume created for an instance says so while it is still only reserved.
func TestReservationsListReservedVolumesAndMarkTheBootOne(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"attached", "pending", "other"} {
		e.create(CreateRequest{Name: name, SizeGiB: 1})
	}
	e.attach("attached", "inst-1", "vdb")
	for name, inst := range map[string]string{"pending": "inst-1", "other": "inst-2"} {
		if _, err := e.svc.Reserve(ctx, proj, name, inst); err != nil {
			t.Fatal(err)
		}
	}
	root := e.create(CreateRequest{Name: "root", ImageID: "img", ReserveFor: "inst-1"})
	if root.Attachment == nil || !root.Attachment.Boot {
		t.Errorf("boot volume reserved for its instance: attachment %+v, want Boot", root.Attachment)
	}
	names := func(instanceID string) []string {
		vols, err := e.svc.Reservations(ctx, instanceID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range vols {
			out = append(out, v.Name)
		}
		slices.Sort(out)
		return out
	}
	if got, want := names("inst-1"), []string{"pending", "root"}; !slices.Equal(got, want) {
		t.Errorf("reservations of inst-1: %v, want %v", got, want)
	}
	if got, want := names(""), []string{"other", "pending", "root"}; !slices.Equal(got, want) {
		t.Errorf("all reservations: %v, want %v", got, want)
	}
}
