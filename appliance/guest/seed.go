package guest

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Seed volume labels, as cloud-init's ds-identify and the datasources look for them.
const (
	LabelNoCloud     = "cidata"
	LabelConfigDrive = "config-2"
)

// SeedFiles are the files of inst's seed of the given kind, by path, and the volume label.
func SeedFiles(kind string, inst Instance) (label string, files map[string][]byte, err error) {
	switch kind {
	case SeedNoCloud:
		files = map[string][]byte{
			"meta-data":      MetaData(inst),
			"user-data":      inst.UserData,
			"vendor-data":    VendorData(inst),
			"network-config": NetworkConfig(inst),
		}
		return LabelNoCloud, files, nil
	case SeedConfigDrive:
		files = map[string][]byte{}
		for _, version := range []string{"latest", OpenStackVersions[len(OpenStackVersions)-1]} {
			for _, name := range OpenStackNames {
				if body, err := OpenStackFile(inst, version, name); err == nil {
					files["openstack/"+version+"/"+name] = body
				}
			}
		}
		return LabelConfigDrive, files, nil
	}
	return "", nil, fmt.Errorf("seed kind %q: must be %s or %s", kind, SeedNoCloud, SeedConfigDrive)
}

// WriteSeed writes inst's seed ISO of the given kind to path: into a temporary file in the same
// directory, mode 0600 and owned by uid:gid (the QEMU user; -1 keeps the daemon's), then renamed over
// path, so a reader never sees half a seed.
func WriteSeed(path, kind string, inst Instance, uid, gid int) error {
	label, files, err := SeedFiles(kind, inst)
	if err != nil {
		return err
	}
	img, err := buildISO(label, files, time.Now())
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".seed-*.iso")
	if err != nil {
		return fmt.Errorf("write seed of instance %s: %w", inst.ID, err)
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing to remove
	if err := writeSync(tmp, img, uid, gid); err != nil {
		return fmt.Errorf("write seed of instance %s: %w", inst.ID, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write seed of instance %s: %w", inst.ID, err)
	}
	return nil
}

func writeSync(f *os.File, data []byte, uid, gid int) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil && (uid >= 0 || gid >= 0) {
		err = f.Chown(uid, gid)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
