package compute

import (
	"encoding/json"
	"time"

	"cloudlet/store"
)

// Instance is a virtual machine's catalog record. The three states are stored separately (Nova's
// model); runtime facts (PID, timeline) are written by the supervisor so show never asks QEMU.
type Instance struct {
	store.Meta
	Flavor     Flavor     `json:"flavor"` // a copy taken at create (or resize), so a deleted flavor changes nothing
	ImageID    string     `json:"image_id"`
	VMState    VMState    `json:"vm_state"`
	TaskState  TaskState  `json:"task_state"`
	PowerState PowerState `json:"power_state"`
	Fault      string     `json:"fault,omitempty"` // why the last operation failed or why the instance is in error

	Autostart      bool        `json:"autostart"`
	AutostartOrder int         `json:"autostart_order"`
	RestartPolicy  string      `json:"restart_policy"`    // never | on-crash
	Crashes        []time.Time `json:"crashes,omitempty"` // recent crash times, for the crash-loop limit

	PID            int        `json:"pid,omitempty"`       // QEMU's pid while it runs
	PIDStartTime   uint64     `json:"pid_start,omitempty"` // its /proc start time, guards PID reuse
	LaunchedAt     *time.Time `json:"launched_at,omitempty"`
	Timeline       []Stage    `json:"timeline,omitempty"`
	ReadyAt        *time.Time `json:"ready_at,omitempty"`        // when the guest of the running boot said it was ready (ready.go)
	ReadyVia       string     `json:"ready_via,omitempty"`       // which said it first: phone-home, virtio-serial, console or agent
	Addresses      []Address  `json:"addresses,omitempty"`       // filled by networking
	Networks       []string   `json:"networks,omitempty"`        // the networks it asked for, one port made on each
	Ports          []string   `json:"ports,omitempty"`           // ids of the ports it was given: they outlive it
	PortIDs        []string   `json:"port_ids,omitempty"`        // its NICs in order (given ports, then made ones); nil while it has none
	SecurityGroups []string   `json:"security_groups,omitempty"` // the groups the ports made for it get
	UserID         string     `json:"user_id,omitempty"`         // who created it (Nova's user_id); "" if no user did
	KeyName        string     `json:"key_name,omitempty"`        // the keypair asked for at create
	KeyData        string     `json:"key_data,omitempty"`        // its public key then (Nova's key_data): the guest's to trust

	// What the guest is given (guestdata.go); user-data and the password hash are in its secrets record.
	Hostname     string            `json:"hostname,omitempty"`       // the guest's, a set of DNS labels
	Metadata     map[string]string `json:"metadata,omitempty"`       // Nova's server metadata
	ConfigDrive  string            `json:"config_drive,omitempty"`   // nocloud | configdrive | none ("": nocloud)
	UserDataSize int               `json:"user_data_size,omitempty"` // bytes of user-data given
	PasswordSet  bool              `json:"password_set,omitempty"`   // a password was asked for
	AccessIPv4   string            `json:"access_ipv4,omitempty"`    // Nova's accessIPv4, as given at create
	AccessIPv6   string            `json:"access_ipv6,omitempty"`    // Nova's accessIPv6, as given at create

	Boot         BootSpec `json:"boot"`                     // how QEMU boots it, resolved from the image at create or rebuild
	BootVolumeID string   `json:"boot_volume_id,omitempty"` // the volume it boots from
	// ReplacedBootVolumeID is the boot volume a rebuild forgot but has not deleted yet (a crash or a
	// failure came between): the next rebuild, or the delete, finishes it.
	ReplacedBootVolumeID string `json:"replaced_boot_volume_id,omitempty"`
	// VolumesToDelete are the volumes a delete in progress deletes with the instance, written before
	// it detaches them: a delete cut short between a detach and the volume's delete finishes them.
	VolumesToDelete []string `json:"volumes_to_delete,omitempty"`
	BootFromVolume  bool     `json:"boot_from_volume"` // the user gave that volume (else compute made it from the image)
	// BlankBoot: the image is an ISO, so the boot volume compute makes is blank, of the flavor's disk
	// size, for the installer in the first CD-ROM drive to write (cdrom.go).
	BlankBoot bool    `json:"blank_boot,omitempty"`
	CDROMs    []CDROM `json:"cdroms,omitempty"` // the ISOs in its CD-ROM drives, in drive order; eject empties them
}

// Restart policies.
const (
	RestartNever   = "never"
	RestartOnCrash = "on-crash"
)

// BootSpec is how QEMU boots the instance besides its boot volume: firmware, or a kernel from the image.
type BootSpec struct {
	Kernel   string `json:"kernel,omitempty"`
	Initrd   string `json:"initrd,omitempty"`
	Cmdline  string `json:"cmdline,omitempty"`
	Firmware string `json:"firmware"` // bios | uefi
}

// Stage is one step of the boot timeline.
type Stage struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
}

// Boot timeline stage names, in order.
const (
	StageAccepted   = "api_accepted"
	StageExec       = "qemu_exec"
	StageQMPReady   = "qmp_ready"
	StageCont       = "cont"
	StageFirstByte  = "first_console_byte"
	StageGuestReady = "guest_ready"
	StageDHCPLease  = "dhcp_lease"
)

// Address is an IP address of the instance on a network.
type Address struct {
	Network string `json:"network"`
	IP      string `json:"ip"`
	MAC     string `json:"mac,omitempty"`
}

var instances = store.NewKind[Instance](store.BucketInstances, store.ScopeProject).Holding(cdromHolds)

// appendEvent records a change on the event log in the caller's transaction.
func appendEvent(tx *store.Tx, typ, kind, id, projectID string, data any) error {
	e := &store.Event{Type: typ, Kind: kind, ID: id, ProjectID: projectID}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			return err
		}
		e.Data = raw
	}
	return store.AppendEvent(tx, e)
}

// stateEvent is the data of an instance.state event.
type stateEvent struct {
	VMState    VMState    `json:"vm_state"`
	TaskState  TaskState  `json:"task_state"`
	PowerState PowerState `json:"power_state"`
	Fault      string     `json:"fault,omitempty"`
}
