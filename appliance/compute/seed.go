package compute

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Seeds writes the seed a guest reads at boot: a NoCloud cidata ISO or a config-2 config drive. It is
// the guest service as compute uses it, wired in appliance (compute never imports it).
type Seeds interface {
	WriteSeed(ctx context.Context, r SeedRequest) error
}

// SeedRequest is one seed to write.
type SeedRequest struct {
	Path     string   // the file to write (in the instance's state dir); written whole or not at all
	Kind     string   // ConfigDriveNoCloud or ConfigDriveOpenStack
	Instance Instance // its record: name, hostname, key, metadata, ports (PortIDs) in NIC order
	Guest    GuestData
	UID, GID int // the owner, QEMU's user (-1: the daemon's)
}

// seedFile is the name of the seed in an instance's state dir.
const seedFile = "seed.iso"

// writeSeed is the launch step that writes the instance's seed afresh (so a changed key, metadata or
// user-data shows at every boot) and attaches it; config_drive none attaches nothing. The seed of a
// QEMU that runs on is never rewritten: reattach runs no launch step. A resume attaches one only when
// the boot that saved the state had one (an instance suspended before seeds existed has none).
func (l *launch) writeSeed(ctx context.Context) error {
	kind := l.inst.ConfigDrive
	if kind == "" {
		kind = ConfigDriveNoCloud
	}
	path := filepath.Join(l.s().stateDir(l.inst.ID), seedFile)
	if kind == ConfigDriveNone || l.s().o.Seeds == nil {
		return removeSeed(path)
	}
	if _, err := os.Stat(path); err != nil && l.incoming != nil {
		return nil // a resume keeps the devices of the boot that saved the state, which had no seed
	}
	guest, err := l.s().guestData(l.inst.ID)
	if err != nil {
		return fmt.Errorf("read the guest data of instance %s: %w", l.inst.ID, err)
	}
	uid, gid := -1, -1
	if c := l.s().o.Credential; c != nil {
		uid, gid = int(c.Uid), int(c.Gid)
	}
	r := SeedRequest{Path: path, Kind: kind, Instance: *l.inst, Guest: guest, UID: uid, GID: gid}
	if err := l.s().o.Seeds.WriteSeed(ctx, r); err != nil {
		return err
	}
	l.spec.Seed = path
	return nil
}

// removeSeedStep undoes writeSeed: a failed start leaves no seed behind.
func (l *launch) removeSeedStep(context.Context) {
	if l.spec.Seed == "" {
		return
	}
	if err := removeSeed(l.spec.Seed); err != nil {
		l.s().log.Warn("undo start: remove seed", "instance", l.inst.ID, "err", err)
	}
	l.spec.Seed = ""
}

func removeSeed(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove seed: %w", err)
	}
	return nil
}
