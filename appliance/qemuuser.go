package appliance

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"cloudlet/appliance/host"
)

// qemuCredential resolves the configured QEMU user. Root is only ever chosen by name ("root"), and
// then comes with a warning for the log (cloudlet doctor says the same); a user that does not exist
// is an error that says how to create it or how to choose root. The user also gets the kvm group,
// so /dev/kvm stays usable.
func qemuCredential(name string) (*syscall.Credential, string, error) {
	if name == "root" {
		return nil, "qemu_user is root: QEMU runs with the daemon's privileges", nil
	}
	u, err := user.Lookup(name)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		return nil, "", fmt.Errorf("QEMU user %s does not exist: create it with `%s` (make install and make run do), "+
			"or run QEMU as root explicitly with qemu_user \"root\" (--qemu-user root)", name, host.QEMUUserAddCommand(name))
	} else if err != nil {
		return nil, "", fmt.Errorf("look up QEMU user %s: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, "", fmt.Errorf("QEMU user %s: %w", name, err)
	}
	if uid == 0 {
		return nil, "", nil
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if g, err := user.LookupGroup("kvm"); err == nil {
		if kvm, err := strconv.ParseUint(g.Gid, 10, 32); err == nil {
			cred.Groups = []uint32{uint32(kvm)}
		}
	}
	return cred, "", nil
}

// openForQEMU makes the directories on the way to instance and image files traversable (0711, not
// listable) so an unprivileged QEMU can reach the files it is given; the files keep their own modes.
func openForQEMU(cfg Config) error {
	for _, dir := range []string{cfg.DataDir, cfg.RunDir, cfg.InstanceStateDir(), cfg.InstanceRunDir(), cfg.ImageDir(),
		filepath.Dir(cfg.DefaultPoolDir()), cfg.DefaultPoolDir()} {
		if err := os.MkdirAll(dir, 0o711); err != nil {
			return fmt.Errorf("create directory %s: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o711); err != nil {
			return fmt.Errorf("open %s for the QEMU user: %w", dir, err)
		}
	}
	return nil
}
