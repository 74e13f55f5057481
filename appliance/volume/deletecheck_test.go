package volume

import (
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

// CheckDelete answers what Delete would say about what depends on a volume, leaving its attachment
// aside (the instance deleting it detaches it first), and changes nothing.
func TestCheckDeleteSaysWhatDeleteWouldRefuseButIgnoresTheAttachment(t *testing.T) {
	e := newEnv(t)
	e.create(CreateRequest{Name: "root", SizeGiB: 1})
	e.attach("root", "inst-1", "vdb")
	if err := e.svc.CheckDelete(ctx, proj, "root"); err != nil {
		t.Fatalf("an attached volume with nothing depending on it: %v", err)
	}
	sn := e.snapshot("root", "nightly")
	before := e.events(e.get("root").ID)
	err := e.svc.CheckDelete(ctx, proj, "root")
	wantKind(t, err, fault.Conflict)
	if !strings.Contains(err.Error(), "snapshot nightly ("+sn.ID+")") {
		t.Errorf("refusal %q does not name the snapshot", err)
	}
	if after := e.events(e.get("root").ID); len(after) != len(before) || e.get("root").Status != StatusInUse {
		t.Errorf("the check changed the volume: events %v → %v, status %s", before, after, e.get("root").Status)
	}
	wantKind(t, e.svc.CheckDelete(ctx, proj, "nope"), fault.NotFound)
}
