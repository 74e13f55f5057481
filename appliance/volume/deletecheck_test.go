package volume

import (
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

// CheckDelete says what depends on a volume (what Delete would refuse it for), leaving its attachment
// aside (the instance deleting it detaches it first), and changes nothing.
func TestCheckDeleteNamesWhatDependsOnAVolumeButIgnoresTheAttachment(t *testing.T) {
	e := newEnv(t)
	e.create(CreateRequest{Name: "root", SizeGiB: 1})
	e.attach("root", "inst-1", "vdb")
	if why, err := e.svc.CheckDelete(ctx, proj, "root"); err != nil || why != "" {
		t.Fatalf("an attached volume with nothing depending on it: %q, %v", why, err)
	}
	sn := e.snapshot("root", "nightly")
	before := e.events(e.get("root").ID)
	why, err := e.svc.CheckDelete(ctx, proj, "root")
	if err != nil || !strings.Contains(why, "snapshot nightly ("+sn.ID+")") || !strings.Contains(why, "then the volume") {
		t.Errorf("check: %q, %v; want the snapshot named and what to do", why, err)
	}
	if after := e.events(e.get("root").ID); len(after) != len(before) || e.get("root").Status != StatusInUse {
		t.Errorf("the check changed the volume: events %v → %v, status %s", before, after, e.get("root").Status)
	}
	based := e.create(CreateRequest{Name: "based", SnapshotID: sn.ID})
	if why, err := e.svc.CheckDelete(ctx, proj, "root"); err != nil || !strings.Contains(why, based.ID) {
		t.Errorf("check with a volume based on the snapshot: %q, %v; want it named", why, err)
	}
	_, err = e.svc.CheckDelete(ctx, proj, "nope")
	wantKind(t, err, fault.NotFound)
}
