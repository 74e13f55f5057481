package compute

import (
	"context"
	"fmt"

	"cloudlet/appliance/crashpoint"
	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// CreateRequest is POST /api/v1/instances.
type CreateRequest struct {
	ProjectID      string   `json:"-"`
	Name           string   `json:"name"`
	Flavor         string   `json:"flavor"`
	Image          string   `json:"image"`
	BootVolume     string   `json:"boot_volume"`     // boot from this existing volume instead of an image
	Networks       []string `json:"networks"`        // a port made on each, after the given ports; both omitted: see defaultNetwork; [] = none
	Ports          []string `json:"ports"`           // existing ports (names or ids) it is given, in order, first (Nova's --nic port-id)
	SecurityGroups []string `json:"security_groups"` // on every port made for it (default: the project's "default")
	KeyName        string   `json:"key_name"`        // a keypair of the caller's, for the guest to trust
	UserID         string   `json:"-"`               // the caller: keypairs are per user, and it is recorded as the creator
	Autostart      bool     `json:"autostart"`
	AutostartOrder int      `json:"autostart_order"`
	RestartPolicy  string   `json:"restart_policy"`

	// What the guest is given (guestdata.go).
	UserData    string            `json:"user_data"`    // base64; at most MaxUserData bytes decoded
	Hostname    string            `json:"hostname"`     // default: made from the name
	Password    string            `json:"password"`     // the default user's console password; only its hash is kept
	Metadata    map[string]string `json:"metadata"`     // Nova's server metadata
	ConfigDrive string            `json:"config_drive"` // nocloud (default) | configdrive | none

	CDROMs []string `json:"cdroms"` // more ISO images (names or ids) in CD-ROM drives, e.g. drivers (cdrom.go)

	// Nova's accessIPv4 and accessIPv6: addresses recorded for others to reach it by (accessips.go).
	AccessIPv4 string `json:"access_ipv4"`
	AccessIPv6 string `json:"access_ipv6"`
}

const gib = int64(1) << 30

// Create validates the request, checks the project's quotas, claims host capacity and records the instance as
// building/spawning in one transaction, then hands the spawn to the instance's supervisor and returns at once
// (202).
func (s *Service) Create(ctx context.Context, r CreateRequest) (*Instance, error) {
	accepted := s.now()
	if err := store.ValidateName(r.Name); err != nil {
		return nil, errInvalid("instance name: %v", err)
	}
	if r.RestartPolicy == "" {
		r.RestartPolicy = RestartNever
	}
	if r.RestartPolicy != RestartNever && r.RestartPolicy != RestartOnCrash {
		return nil, errInvalid("restart_policy must be %s or %s, not %q", RestartNever, RestartOnCrash, r.RestartPolicy)
	}
	if r.AutostartOrder < 0 || r.AutostartOrder > 10000 {
		return nil, errInvalid("autostart_order must be between 0 and 10000")
	}
	guest, err := parseGuestFields(r.UserData, r.Password, r.Metadata)
	if err != nil {
		return nil, err
	}
	if r.Hostname, err = checkHostname(r.Hostname, r.Name); err != nil {
		return nil, err
	}
	if r.ConfigDrive, err = checkConfigDrive(r.ConfigDrive); err != nil {
		return nil, err
	}
	if err := checkAccessIPs(&r); err != nil {
		return nil, err
	}
	if err := s.checkNICs(ctx, &r); err != nil {
		return nil, err
	}
	flavor, img, err := s.resolve(ctx, r)
	if err != nil {
		return nil, err
	}
	cds, err := s.resolveCDROMs(ctx, r, img)
	if err != nil {
		return nil, err
	}
	inst := s.newInstance(r, flavor, img)
	inst.CDROMs, inst.BlankBoot = cds, img.ISO
	inst.Timeline = []Stage{{StageAccepted, accepted}}
	if inst.KeyName, inst.KeyData, err = s.keypair(ctx, r); err != nil {
		return nil, err
	}
	if r.BootVolume != "" { // reserved before the record exists; released again if the record is refused
		vol, err := s.o.Volumes.Reserve(ctx, r.ProjectID, r.BootVolume, inst.ID)
		if err != nil {
			return nil, fmt.Errorf("create instance %s: boot volume: %w", r.Name, err)
		}
		inst.BootVolumeID, inst.BootFromVolume = vol.ID, true
	}
	err = s.db.Update(func(tx *store.Tx) error {
		if err := s.checkQuota(tx, inst.ProjectID, 1, inst.Flavor.VCPUs, inst.Flavor.RAMMiB); err != nil {
			return err
		}
		if err := s.admit(tx, inst.ID, inst.Flavor); err != nil {
			return err
		}
		if err := portsClaimed(tx, inst); err != nil {
			return err
		}
		if err := applyGuestFields(tx, inst, guest, false); err != nil {
			return err
		}
		if err := instances.Create(tx, inst); err != nil {
			return err
		}
		return appendEvent(tx, "instance.created", "instance", inst.ID, inst.ProjectID,
			stateEventOf(inst))
	})
	if err != nil {
		if inst.BootFromVolume {
			s.o.Volumes.Detached(context.WithoutCancel(ctx), inst.BootVolumeID)
		}
		return nil, fmt.Errorf("create instance %s: %w", r.Name, err)
	}
	crashpoint.Hit(crashpoint.CreateRecorded)
	if err := s.submit(inst.ID, command{action: actSpawn, accepted: accepted}); err != nil {
		return nil, err
	}
	return inst, nil
}

// resolve finds the flavor and image and checks they fit together. Booting from a volume needs no image.
func (s *Service) resolve(ctx context.Context, r CreateRequest) (*Flavor, BootImage, error) {
	if r.Flavor == "" || (r.Image == "") == (r.BootVolume == "") {
		return nil, BootImage{}, errInvalid("a flavor and either an image or a boot_volume are required")
	}
	flavor, err := s.Flavor(ctx, r.Flavor)
	if fault.KindOf(err) == fault.NotFound {
		return nil, BootImage{}, errInvalid("unknown flavor %q", r.Flavor)
	} else if err != nil {
		return nil, BootImage{}, err
	}
	if r.Image == "" {
		return flavor, BootImage{Firmware: "bios"}, nil
	}
	img, err := s.o.Images(ctx, r.ProjectID, r.Image)
	if fault.KindOf(err) == fault.NotFound {
		return nil, BootImage{}, errInvalid("unknown image %q", r.Image)
	} else if err != nil {
		return nil, BootImage{}, err
	}
	if err := checkISOBoot(flavor, img); err != nil {
		return nil, BootImage{}, err
	}
	return flavor, img, checkFits(flavor, img)
}

// checkFits applies the image's minimums to the flavor, as Nova does.
func checkFits(f *Flavor, img BootImage) error {
	if img.MinRAMMiB > f.RAMMiB {
		return errInvalid("flavor %s has %d MiB RAM; image needs at least %d", f.Name, f.RAMMiB, img.MinRAMMiB)
	}
	if f.DiskGiB > 0 && int64(f.DiskGiB)*gib < img.VirtualSize && !img.ISO { // an ISO's disk starts blank
		return errInvalid("flavor %s's %d GiB disk is smaller than the image (%d bytes)", f.Name, f.DiskGiB, img.VirtualSize)
	}
	if f.DiskGiB > 0 && f.DiskGiB < img.MinDiskGiB {
		return errInvalid("flavor %s has a %d GiB disk; image needs at least %d", f.Name, f.DiskGiB, img.MinDiskGiB)
	}
	return nil
}

func (s *Service) newInstance(r CreateRequest, f *Flavor, img BootImage) *Instance {
	id := store.NewID()
	inst := &Instance{
		Meta:           store.Meta{ID: id, Name: r.Name, ProjectID: r.ProjectID},
		Flavor:         *f,
		ImageID:        img.ID,
		VMState:        VMBuilding,
		TaskState:      TaskSpawning,
		PowerState:     PowerNoState,
		Autostart:      r.Autostart,
		AutostartOrder: r.AutostartOrder,
		RestartPolicy:  r.RestartPolicy,
		Networks:       r.Networks,
		Ports:          r.Ports,
		SecurityGroups: r.SecurityGroups,
		Hostname:       r.Hostname,
		ConfigDrive:    r.ConfigDrive,
		AccessIPv4:     r.AccessIPv4,
		AccessIPv6:     r.AccessIPv6,
		UserID:         r.UserID,
	}
	inst.Flavor.Meta = store.Meta{ID: f.ID, Name: f.Name}
	inst.Boot = bootSpec(img)
	return inst
}

func bootSpec(img BootImage) BootSpec {
	fw := img.Firmware
	if fw == "" {
		fw = "bios"
	}
	return BootSpec{Kernel: img.Kernel, Initrd: img.Initrd, Cmdline: img.Cmdline, Firmware: fw}
}
