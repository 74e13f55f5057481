package qemu

import "strconv"

// MaxCDROMs is how many CD-ROM drives an instance can have: four leave two of q35's six AHCI ports
// free and are more than an installer and its drivers need.
const MaxCDROMs = 4

// CD-ROM buses (Nova's hw_cdrom_bus).
const (
	// CDBusSATA is an ide-cd on q35's built-in AHCI controller, which is always there, so the drive adds
	// no PCI device and moves no other device's address. Every installer reads it (Windows included,
	// before its virtio drivers are loaded). The default.
	CDBusSATA = "sata"
	// CDBusSCSI is a scsi-cd on a virtio-scsi controller (one, added before the seed when any drive
	// needs it), for guests whose kernel has virtio drivers but no AHCI driver (cloud kernels).
	CDBusSCSI = "scsi"
)

// scsiControllerID is the qdev id of the virtio-scsi controller of CDBusSCSI drives.
const scsiControllerID = "scsi0"

// CDROM is one read-only CD-ROM drive holding an ISO (an installer, drivers).
type CDROM struct {
	Path      string // absolute path of the ISO, opened read-only
	Bus       string // CDBusSATA ("" too) or CDBusSCSI
	BootIndex int    // firmware boot order, 1 first; 0 means not bootable
}

// CDROMID is the qdev id of drive i (Spec.CDROMs[i]), and the name of its format block node; its file
// node is CDROMID(i)+"-file". QMP's eject and blockdev-del name them.
func CDROMID(i int) string { return "cd" + strconv.Itoa(i) }

// cdromArgs are the CD-ROM drives: SATA ones each on its own AHCI port (ide.0 up), SCSI ones on one
// virtio-scsi controller (target 0 up).
func cdromArgs(cds []CDROM) []string {
	type cdDevice struct {
		Driver    string `json:"driver"`
		ID        string `json:"id"`
		Drive     string `json:"drive"`
		Bus       string `json:"bus"`
		SCSIID    *int   `json:"scsi-id,omitempty"`
		BootIndex int    `json:"bootindex,omitempty"`
	}
	var a []string
	sata, scsi := 0, 0
	for i, cd := range cds {
		dev := cdDevice{Driver: "ide-cd", ID: CDROMID(i), Drive: CDROMID(i), BootIndex: cd.BootIndex}
		if cd.Bus == CDBusSCSI {
			if scsi == 0 {
				a = append(a, "-device", jsonArg(map[string]string{"driver": "virtio-scsi-pci", "id": scsiControllerID}))
			}
			target := scsi
			dev.Driver, dev.Bus, dev.SCSIID = "scsi-cd", scsiControllerID+".0", &target
			scsi++
		} else {
			dev.Bus = "ide." + strconv.Itoa(sata)
			sata++
		}
		a = append(a, blockdevArgs(CDROMID(i), CDROMID(i)+"-file", cd.Path, FormatRaw, true)...)
		a = append(a, "-device", jsonArg(dev))
	}
	return a
}

// validateCDROMs checks the drives' count, buses and paths, and that no boot index is used twice among
// the disks and the drives.
func (s Spec) validateCDROMs() error {
	if len(s.CDROMs) > MaxCDROMs {
		return invalidf("%d cdroms: at most %d", len(s.CDROMs), MaxCDROMs)
	}
	boot := map[int]bool{}
	for _, d := range s.Disks {
		boot[d.BootIndex] = d.BootIndex > 0
	}
	for i, cd := range s.CDROMs {
		switch {
		case !isAbsPath(cd.Path):
			return invalidf("cdrom %d path %q is not a clean absolute path", i, cd.Path)
		case cd.Bus != "" && cd.Bus != CDBusSATA && cd.Bus != CDBusSCSI:
			return invalidf("cdrom %d bus %q: must be %s or %s", i, cd.Bus, CDBusSATA, CDBusSCSI)
		case cd.BootIndex < 0 || (cd.BootIndex > 0 && boot[cd.BootIndex]):
			return invalidf("cdrom %d boot index %d: must be 0 or a positive index no disk or cdrom uses", i, cd.BootIndex)
		}
		boot[cd.BootIndex] = cd.BootIndex > 0
	}
	return nil
}
