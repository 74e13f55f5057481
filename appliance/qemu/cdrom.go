package qemu

import "strconv"

// MaxCDROMs is how many CD-ROM drives an instance can have: q35's built-in AHCI controller has six
// ports (ide.0 to ide.5); four leave room and are more than an installer and its drivers need.
const MaxCDROMs = 4

// CDROM is one read-only CD-ROM drive holding an ISO (an installer, drivers). Spec.CDROMs[i] is an
// ide-cd on port ide.i of q35's built-in AHCI controller, which is always there, so a CD-ROM adds no
// PCI device and moves no other device's address.
type CDROM struct {
	Path      string // absolute path of the ISO, opened read-only
	BootIndex int    // firmware boot order, 1 first; 0 means not bootable
}

// CDROMID is the qdev id of CD-ROM drive i, and the name of its format block node; its file node
// is CDROMID(i)+"-file". QMP's eject and blockdev-del name them.
func CDROMID(i int) string { return "cd" + strconv.Itoa(i) }

// cdromArgs are the CD-ROM drives, each an ide-cd on its own AHCI port.
func cdromArgs(cds []CDROM) []string {
	var a []string
	for i, cd := range cds {
		dev := struct {
			Driver    string `json:"driver"`
			ID        string `json:"id"`
			Drive     string `json:"drive"`
			Bus       string `json:"bus"`
			BootIndex int    `json:"bootindex,omitempty"`
		}{"ide-cd", CDROMID(i), CDROMID(i), "ide." + strconv.Itoa(i), cd.BootIndex}
		a = append(a, blockdevArgs(CDROMID(i), CDROMID(i)+"-file", cd.Path, FormatRaw, true)...)
		a = append(a, "-device", jsonArg(dev))
	}
	return a
}

// validateCDROMs checks the drives' count and paths, and that no boot index is used twice among the
// disks and the drives.
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
		case cd.BootIndex < 0 || (cd.BootIndex > 0 && boot[cd.BootIndex]):
			return invalidf("cdrom %d boot index %d: must be 0 or a positive index no disk or cdrom uses", i, cd.BootIndex)
		}
		boot[cd.BootIndex] = cd.BootIndex > 0
	}
	return nil
}
