package compute

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/qemu"
	"cloudlet/appliance/qemu/qmp/qmptest"
	"cloudlet/internal/testkit"
	"cloudlet/store"
)

// isoEnv is a compute service whose images are "img" (a qcow2 disk image) and three ISOs: "installer"
// (on the default bus), "drivers" (hw_cdrom_bus scsi) and "usbiso" (hw_cdrom_bus usb, which cloudlet
// has not); with a flavor "nodisk" that has no disk.
type isoEnv struct {
	*env
	installer, drivers string // the ISO files
}

func newISOEnv(t *testing.T) *isoEnv {
	t.Helper()
	dir := t.TempDir()
	ie := &isoEnv{installer: filepath.Join(dir, "installer.iso"), drivers: filepath.Join(dir, "drivers.iso")}
	for _, p := range []string{ie.installer, ie.drivers} {
		if err := os.WriteFile(p, make([]byte, 64<<10), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ie.env = newEnv(t, func(o *Options) {
		disk := o.Images
		o.Images = func(ctx context.Context, project, ref string) (BootImage, error) {
			switch ref {
			case "installer":
				return BootImage{ID: "installer-id", Disk: ie.installer, DiskFormat: "raw", VirtualSize: 64 << 10, ISO: true}, nil
			case "drivers":
				return BootImage{ID: "drivers-id", Disk: ie.drivers, DiskFormat: "raw", VirtualSize: 64 << 10, ISO: true, CDROMBus: "scsi"}, nil
			case "usbiso":
				return BootImage{ID: "usb-id", Disk: ie.drivers, DiskFormat: "raw", VirtualSize: 64 << 10, ISO: true, CDROMBus: "usb"}, nil
			}
			return disk(ctx, project, ref)
		}
	})
	for _, id := range []string{"installer-id", "drivers-id"} { // the images instances hold must exist
		testkit.ImageRecord(t, ie.db, id, id, testProject)
	}
	if _, err := ie.svc.CreateFlavor(context.Background(), Flavor{Meta: store.Meta{Name: "nodisk"}, VCPUs: 1, RAMMiB: 256}); err != nil {
		t.Fatal(err)
	}
	return ie
}

// createISO creates an instance from the installer ISO with the drivers ISO as a second CD.
func (e *isoEnv) createISO(name string) *Instance {
	e.t.Helper()
	inst, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: testProject, Name: name, Flavor: "m1.tiny",
		Image: "installer", CDROMs: []string{"drivers"}, ConfigDrive: ConfigDriveNone})
	if err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	return inst
}

// lastSpec is the spec of the last QEMU started.
func (e *isoEnv) lastSpec() qemu.Spec {
	e.hv.mu.Lock()
	defer e.hv.mu.Unlock()
	return e.hv.starts[len(e.hv.starts)-1]
}

// An instance created from an ISO image gets the ISO read-only in the first CD-ROM drive, booting first,
// a drivers ISO in the second, not booting, and a blank boot volume of the flavor's disk size (not one
// made from the image), booting second.
func TestAnISOInstanceBootsTheISOBeforeABlankDiskOfTheFlavorsSize(t *testing.T) {
	e := newISOEnv(t)
	inst := e.createISO("installer")
	got := e.waitFor(inst.ID, VMActive, PowerRunning)

	if !got.BlankBoot || len(got.CDROMs) != 2 || got.CDROMs[0] != (CDROM{ImageID: "installer-id", Path: e.installer, Bus: "sata", Boot: true}) ||
		got.CDROMs[1] != (CDROM{ImageID: "drivers-id", Path: e.drivers, Bus: "scsi"}) {
		t.Errorf("record: blank_boot %v, cdroms %+v; want blank, the installer booting then the drivers", got.BlankBoot, got.CDROMs)
	}
	if len(e.vols.asked) != 1 || e.vols.asked[0].Image != "" || e.vols.asked[0].SizeGiB != 1 {
		t.Errorf("boot volumes asked for: %+v; want one blank of the flavor's 1 GiB", e.vols.asked)
	}
	spec := e.lastSpec()
	want := []qemu.CDROM{{Path: e.installer, Bus: qemu.CDBusSATA, BootIndex: 1}, {Path: e.drivers, Bus: qemu.CDBusSCSI}}
	if !slices.Equal(spec.CDROMs, want) {
		t.Errorf("QEMU's cdroms %+v, want %+v", spec.CDROMs, want)
	}
	if len(spec.Disks) != 1 || spec.Disks[0].Name != "root" || spec.Disks[0].BootIndex != 2 {
		t.Errorf("QEMU's disks %+v; want the boot volume with boot index 2", spec.Disks)
	}
}

// An instance from a disk image has no CD-ROM drive and boots its disk first, as before; one given a
// drivers ISO at create has it in a drive that does not boot.
func TestADiskImageInstanceBootsItsDiskFirstWithOrWithoutACDROM(t *testing.T) {
	e := newISOEnv(t)
	plain := e.running("plain")
	if spec := e.lastSpec(); len(spec.CDROMs) != 0 || spec.Disks[0].BootIndex != 1 || plain.BlankBoot {
		t.Errorf("plain instance: cdroms %+v, root boot index %d, blank %v; want none, 1, false", spec.CDROMs, spec.Disks[0].BootIndex, plain.BlankBoot)
	}
	inst, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: testProject, Name: "withcd", Flavor: "m1.tiny",
		Image: "img", CDROMs: []string{"drivers"}})
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if spec := e.lastSpec(); !slices.Equal(spec.CDROMs, []qemu.CDROM{{Path: e.drivers, Bus: qemu.CDBusSCSI}}) || spec.Disks[0].BootIndex != 1 {
		t.Errorf("instance with a drivers CD: cdroms %+v, root boot index %d; want the drivers not booting, the disk first", spec.CDROMs, spec.Disks[0].BootIndex)
	}
	if e.vols.asked[1].Image != "img-id" {
		t.Errorf("its boot volume was asked from %q, want from the image", e.vols.asked[1].Image)
	}
}

// Bad input at create is refused before anything is recorded: an ISO with a flavor that has no disk
// (no target to install onto), a disk image as a CD, an unknown CD image, more CDs than drives.
func TestCreateRefusesISOsThatCannotWork(t *testing.T) {
	e := newISOEnv(t)
	for _, c := range []struct {
		name string
		r    CreateRequest
		want string
	}{
		{"iso-without-disk", CreateRequest{Flavor: "nodisk", Image: "installer"}, "has none (disk 0)"},
		{"disk-image-as-cd", CreateRequest{Flavor: "m1.tiny", Image: "installer", CDROMs: []string{"img"}}, "is not an ISO"},
		{"iso-on-a-bus-cloudlet-has-not", CreateRequest{Flavor: "m1.tiny", Image: "img", CDROMs: []string{"usbiso"}}, `hw_cdrom_bus "usb"`},
		{"unknown-cd", CreateRequest{Flavor: "m1.tiny", Image: "img", CDROMs: []string{"nope"}}, `unknown image "nope"`},
		{"too-many-cds", CreateRequest{Flavor: "m1.tiny", Image: "installer", CDROMs: []string{"drivers", "drivers", "drivers", "drivers"}}, "at most 4 CD-ROMs"},
	} {
		c.r.ProjectID, c.r.Name = testProject, c.name
		_, err := e.svc.Create(context.Background(), c.r)
		if fault.KindOf(err) != fault.Invalid || !contains([]string{errString(err)}, c.want) {
			t.Errorf("%s: %v; want invalid, saying %q", c.name, err, c.want)
		}
		if _, err := e.svc.Get(context.Background(), testProject, c.name); fault.KindOf(err) != fault.NotFound {
			t.Errorf("%s: recorded anyway (%v)", c.name, err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ejectRecorder makes a fake QEMU answer eject and blockdev-del, recording their arguments.
type ejectRecorder struct {
	mu   sync.Mutex
	args []string
}

func (r *ejectRecorder) onStart(p *fakeProc, _ qemu.Spec) {
	for _, c := range []string{"eject", "blockdev-del"} {
		p.srv.Handle(c, func(args json.RawMessage) (any, *qmptest.Error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.args = append(r.args, c+" "+string(args))
			return map[string]any{}, nil
		})
	}
}

func (r *ejectRecorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.args)
}

// Eject on a running instance empties both drives in QEMU (forced: a guest's tray lock does not hold
// it) and closes the ISOs, then the record forgets them with an event; the daemon restarted finds the
// record so, and the next boot has no CD-ROM: the installed disk boots.
func TestEjectLiveEmptiesTheDrivesAndTheNextBootHasNone(t *testing.T) {
	e := newISOEnv(t)
	rec := &ejectRecorder{}
	e.hv.onStart = rec.onStart
	inst := e.createISO("installer")
	e.waitFor(inst.ID, VMActive, PowerRunning)

	got, err := e.svc.Eject(context.Background(), testProject, "installer")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`eject {"force":true,"id":"cd0"}`, `blockdev-del {"node-name":"cd0"}`, `blockdev-del {"node-name":"cd0-file"}`,
		`eject {"force":true,"id":"cd1"}`, `blockdev-del {"node-name":"cd1"}`, `blockdev-del {"node-name":"cd1-file"}`,
	}
	if !slices.Equal(rec.got(), want) {
		t.Errorf("QMP commands %q, want %q", rec.got(), want)
	}
	if len(got.CDROMs) != 0 || got.VMState != VMActive {
		t.Errorf("after eject: cdroms %+v, vm_state %s; want none, still active", got.CDROMs, got.VMState)
	}
	if !contains(e.events(inst.ID), `instance.cdrom_ejected {"image_ids":["installer-id","drivers-id"]}`) {
		t.Errorf("events %q: no instance.cdrom_ejected naming both images", e.events(inst.ID))
	}

	e.svc.Close()
	e.start() // a daemon restart reattaches; the record still has no CD-ROM
	if again, _ := e.svc.Get(context.Background(), testProject, inst.ID); len(again.CDROMs) != 0 {
		t.Errorf("after a restart the record has cdroms %+v again", again.CDROMs)
	}
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	e.act(inst.ID, ActStart)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if spec := e.lastSpec(); len(spec.CDROMs) != 0 || spec.Disks[0].BootIndex != 1 {
		t.Errorf("the boot after eject: cdroms %+v, root boot index %d; want none, the disk first", spec.CDROMs, spec.Disks[0].BootIndex)
	}
	if len(e.vols.asked) != 1 {
		t.Errorf("boot volumes made: %d, want the one blank volume, kept", len(e.vols.asked))
	}
}

// Eject on a stopped instance asks nothing of QEMU (there is none) and drops the CDs from the record,
// so the next start has none; a second eject is a conflict that says why.
func TestEjectStoppedDropsTheCDsForTheNextStart(t *testing.T) {
	e := newISOEnv(t)
	rec := &ejectRecorder{}
	e.hv.onStart = rec.onStart
	inst := e.createISO("installer")
	e.waitFor(inst.ID, VMActive, PowerRunning)
	e.act(inst.ID, ActStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)

	if _, err := e.svc.Eject(context.Background(), testProject, inst.ID); err != nil {
		t.Fatal(err)
	}
	if len(rec.got()) != 0 {
		t.Errorf("eject of a stopped instance sent QMP commands %q", rec.got())
	}
	_, err := e.svc.Eject(context.Background(), testProject, inst.ID)
	if fault.KindOf(err) != fault.Conflict || !contains([]string{errString(err)}, "has no CD-ROM to eject") {
		t.Errorf("second eject: %v; want a conflict saying there is no CD-ROM", err)
	}
	e.act(inst.ID, ActStart)
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if spec := e.lastSpec(); len(spec.CDROMs) != 0 {
		t.Errorf("the start after eject has cdroms %+v", spec.CDROMs)
	}
}

// Eject is refused where it cannot be done: an instance of another project is not found, one without
// a CD-ROM is a conflict, a suspended one (it must resume with the devices it was saved with) too.
func TestEjectRefusals(t *testing.T) {
	e := newISOEnv(t)
	plain := e.running("plain")
	if _, err := e.svc.Eject(context.Background(), testProject, plain.ID); fault.KindOf(err) != fault.Conflict {
		t.Errorf("eject without a CD-ROM: %v, want a conflict", err)
	}
	inst := e.createISO("installer")
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if _, err := e.svc.Eject(context.Background(), "another-project", inst.ID); fault.KindOf(err) != fault.NotFound {
		t.Errorf("eject from another project: %v, want not found", err)
	}
	e.svc.update(inst.ID, func(i *Instance) error { i.VMState = VMSuspended; return nil })
	if _, err := e.svc.Eject(context.Background(), testProject, inst.ID); fault.KindOf(err) != fault.Conflict {
		t.Errorf("eject of a suspended instance: %v, want a conflict", err)
	}
}

// A start whose ISO is gone fails at the cdroms step and undoes the steps before it: the blank boot
// volume made for it is deleted and the record names none, so nothing is left behind; after an eject
// the instance starts from its disk.
func TestAStartWhoseISOIsGoneUndoesTheBlankBootVolume(t *testing.T) {
	e := newISOEnv(t)
	if err := os.Remove(e.drivers); err != nil {
		t.Fatal(err)
	}
	inst := e.createISO("installer")
	got := e.waitFor(inst.ID, VMError, PowerNoState)
	if !contains([]string{got.Fault}, "cdroms: the ISO of image drivers-id in CD-ROM drive 1 is gone") {
		t.Errorf("fault %q; want the cdroms step naming the missing ISO", got.Fault)
	}
	if got.BootVolumeID != "" || e.vols.count() != 0 || e.hv.startCount() != 0 {
		t.Errorf("after the failed start: boot volume %q, %d volumes, %d QEMUs; want none left", got.BootVolumeID, e.vols.count(), e.hv.startCount())
	}
	if _, err := os.Stat(e.svc.stateDir(inst.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir after the failed start: %v; want it removed", err)
	}
}

// A start that fails after the blank boot volume was made (QEMU does not start) deletes it again.
func TestAFailedISOStartDeletesTheBlankBootVolumeItMade(t *testing.T) {
	e := newISOEnv(t)
	qemuStep := slices.Index(stepNames(e.svc.steps), "qemu")
	e.svc.steps[qemuStep].do = func(*launch, context.Context) error { return errors.New("boom") }
	inst := e.createISO("installer")
	got := e.waitFor(inst.ID, VMError, PowerNoState)
	if got.BootVolumeID != "" || e.vols.count() != 0 || len(e.vols.asked) != 1 {
		t.Errorf("after the failed start: boot volume %q, %d volumes (%d made); want the one made deleted", got.BootVolumeID, e.vols.count(), len(e.vols.asked))
	}
	if len(got.CDROMs) != 2 {
		t.Errorf("the failed start changed the CDs: %+v", got.CDROMs)
	}
}

// Rebuild keeps an ISO install honest: an ISO is no image to rebuild onto, an instance installed from
// one cannot be rebuilt from it, and rebuilt onto a disk image it boots that disk before any CD.
func TestRebuildOfAnISOInstance(t *testing.T) {
	e := newISOEnv(t)
	inst := e.createISO("installer")
	e.waitFor(inst.ID, VMActive, PowerRunning)
	if _, err := e.svc.Act(context.Background(), testProject, inst.ID, ActRebuild, ActionArgs{Image: "drivers"}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("rebuild onto an ISO: %v, want invalid", err)
	}
	if _, err := e.svc.Act(context.Background(), testProject, inst.ID, ActRebuild, ActionArgs{}); fault.KindOf(err) != fault.Conflict {
		t.Errorf("rebuild from its ISO: %v, want a conflict", err)
	}
	if _, err := e.svc.Act(context.Background(), testProject, inst.ID, ActRebuild, ActionArgs{Image: "img"}); err != nil {
		t.Fatal(err)
	}
	got := e.waitFor(inst.ID, VMActive, PowerRunning)
	if got.BlankBoot || got.ImageID != "img-id" || e.vols.asked[len(e.vols.asked)-1].Image != "img-id" {
		t.Errorf("rebuilt onto img: blank %v, image %s, last volume from %q", got.BlankBoot, got.ImageID, e.vols.asked[len(e.vols.asked)-1].Image)
	}
	if spec := e.lastSpec(); spec.Disks[0].BootIndex != 1 || spec.CDROMs[0].BootIndex != 0 {
		t.Errorf("after the rebuild: root boot index %d, cd0 boot index %d; want the disk first, no CD booting", spec.Disks[0].BootIndex, spec.CDROMs[0].BootIndex)
	}
}

// The images in an instance's drives are held in the catalog (store's holds) while they are in, so the
// image service's delete finds the instance as their holder and refuses; the eject lets go of them.
func TestTheImagesInTheDrivesAreHeldUntilTheEject(t *testing.T) {
	e := newISOEnv(t)
	e.hv.onStart = (&ejectRecorder{}).onStart
	inst := e.createISO("installer")
	e.waitFor(inst.ID, VMActive, PowerRunning)
	holders := func(imageID string) []store.Holder {
		var hs []store.Holder
		err := e.db.View(func(tx *store.Tx) (err error) {
			hs, err = store.Holders(tx, store.Ref{Bucket: store.BucketImages, ID: imageID})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return hs
	}
	for _, img := range []string{"installer-id", "drivers-id"} {
		if hs := holders(img); len(hs) != 1 || hs[0].ID != inst.ID || hs[0].Bucket != store.BucketInstances {
			t.Errorf("holders of %s: %+v; want the instance", img, hs)
		}
	}
	if _, err := e.svc.Eject(context.Background(), testProject, inst.ID); err != nil {
		t.Fatal(err)
	}
	for _, img := range []string{"installer-id", "drivers-id"} {
		if hs := holders(img); len(hs) != 0 {
			t.Errorf("holders of %s after the eject: %+v; want none", img, hs)
		}
	}
}
