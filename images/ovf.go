package images

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Bounds on what an OVF descriptor may ask for.
const (
	maxOVFSize  = 4 << 20 // bytes of the descriptor
	maxOVFDisks = 16
	maxOVFVCPUs = 1024
)

// OVF resource types (CIM_ResourceAllocationSettingData) cloudlet reads.
const (
	ovfResourceCPU    = 3
	ovfResourceMemory = 4
)

// ovfInfo is what cloudlet takes from an OVF descriptor.
type ovfInfo struct {
	VCPUs  int
	RAMMiB int
	Disks  []ovfDisk // in DiskSection order
}

// ovfDisk is one virtual disk and the file in the package that holds it.
type ovfDisk struct {
	ID     string
	Href   string // the file's name in the OVA
	Format string // FormatVMDK: the only disk format accepted in an OVA
}

// The parts of the OVF envelope (DMTF DSP0243) cloudlet reads. Tags carry no namespace, so they
// match the ovf:, rasd: and default-namespace spellings alike.
type ovfEnvelope struct {
	Files      []ovfFile     `xml:"References>File"`
	Disks      []ovfDiskElem `xml:"DiskSection>Disk"`
	System     *ovfSystem    `xml:"VirtualSystem"`
	Collection []ovfSystem   `xml:"VirtualSystemCollection>VirtualSystem"`
}

type ovfFile struct {
	ID   string `xml:"id,attr"`
	Href string `xml:"href,attr"`
}

type ovfDiskElem struct {
	ID      string `xml:"diskId,attr"`
	FileRef string `xml:"fileRef,attr"`
	Format  string `xml:"format,attr"`
}

type ovfSystem struct {
	Items []ovfItem `xml:"VirtualHardwareSection>Item"`
}

type ovfItem struct {
	ResourceType    string `xml:"ResourceType"`
	VirtualQuantity string `xml:"VirtualQuantity"`
	AllocationUnits string `xml:"AllocationUnits"`
}

// parseOVF reads an OVF descriptor. encoding/xml expands no external entities and reads no DTD,
// so the descriptor cannot make cloudlet read a host file or a URL.
func parseOVF(data []byte) (*ovfInfo, error) {
	if len(data) > maxOVFSize {
		return nil, faultf(ErrUnsafe, "OVF descriptor is %d bytes, the limit is %d", len(data), maxOVFSize)
	}
	var env ovfEnvelope
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&env); err != nil {
		return nil, faultf(ErrUnsafe, "OVF descriptor is not valid XML: %v", err)
	}
	info := &ovfInfo{}
	if err := info.readDisks(env); err != nil {
		return nil, err
	}
	sys := env.System
	if sys == nil && len(env.Collection) > 0 {
		sys = &env.Collection[0]
	}
	if sys == nil {
		return nil, faultf(ErrUnsafe, "OVF descriptor has no VirtualSystem")
	}
	if err := info.readHardware(sys.Items); err != nil {
		return nil, err
	}
	return info, nil
}

// readDisks resolves each Disk's fileRef to a File's href and checks both.
func (info *ovfInfo) readDisks(env ovfEnvelope) error {
	if len(env.Disks) == 0 {
		return faultf(ErrUnsafe, "OVF descriptor has no disk")
	}
	if len(env.Disks) > maxOVFDisks {
		return faultf(ErrUnsafe, "OVF descriptor has %d disks, the limit is %d", len(env.Disks), maxOVFDisks)
	}
	hrefs := map[string]string{}
	for _, f := range env.Files {
		hrefs[f.ID] = f.Href
	}
	seen := map[string]bool{}
	for _, d := range env.Disks {
		href, ok := hrefs[d.FileRef]
		if !ok {
			return faultf(ErrUnsafe, "OVF disk %s refers to file %s, which References does not list", quoteShort(d.ID), quoteShort(d.FileRef))
		}
		if err := checkMemberName(href); err != nil {
			return fmt.Errorf("OVF disk %s: file %w", quoteShort(d.ID), err)
		}
		if seen[href] {
			return faultf(ErrUnsafe, "OVF disks share the file %s", quoteShort(href))
		}
		seen[href] = true
		if !strings.Contains(strings.ToLower(d.Format), "vmdk") {
			return faultf(ErrUnsafe, "OVF disk %s has format %s: only VMDK disks are accepted in an OVA", quoteShort(d.ID), quoteShort(d.Format))
		}
		info.Disks = append(info.Disks, ovfDisk{ID: d.ID, Href: href, Format: FormatVMDK})
	}
	return nil
}

// readHardware takes the vCPU count and the memory size of the virtual system.
func (info *ovfInfo) readHardware(items []ovfItem) error {
	for _, it := range items {
		typ, err := strconv.Atoi(strings.TrimSpace(it.ResourceType))
		if err != nil {
			continue
		}
		switch typ {
		case ovfResourceCPU:
			n, err := strconv.Atoi(strings.TrimSpace(it.VirtualQuantity))
			if err != nil || n < 1 || n > maxOVFVCPUs {
				return faultf(ErrUnsafe, "OVF vCPU count %s is not a number in 1..%d", quoteShort(it.VirtualQuantity), maxOVFVCPUs)
			}
			info.VCPUs = n
		case ovfResourceMemory:
			mib, err := memoryMiB(it.VirtualQuantity, it.AllocationUnits)
			if err != nil {
				return err
			}
			info.RAMMiB = mib
		}
	}
	return nil
}

// memoryMiB converts an OVF memory quantity with its allocation units ("byte * 2^20",
// "MegaBytes", "byte * 1024"; empty means MiB) into MiB, rounded up.
func memoryMiB(quantity, units string) (int, error) {
	q, err := strconv.ParseUint(strings.TrimSpace(quantity), 10, 64)
	if err != nil {
		return 0, faultf(ErrUnsafe, "OVF memory quantity %s is not a number", quoteShort(quantity))
	}
	unit, err := allocationUnit(units)
	if err != nil {
		return 0, err
	}
	hi, bytes := bits.Mul64(q, unit)
	mib := (bytes + 1<<20 - 1) >> 20
	if hi != 0 || bytes > 1<<63 || mib > MaxMinRAMMiB {
		return 0, faultf(ErrUnsafe, "OVF memory of %s × %s is over %d MiB", quoteShort(quantity), quoteShort(units), MaxMinRAMMiB)
	}
	return int(mib), nil
}

// allocationUnit parses the programmatic units of DSP0004 that OVF tools write, as bytes.
func allocationUnit(units string) (uint64, error) {
	u := strings.ToLower(strings.ReplaceAll(units, " ", ""))
	switch u {
	case "", "mb", "megabytes", "mib":
		return 1 << 20, nil
	case "kb", "kilobytes", "kib":
		return 1 << 10, nil
	case "gb", "gigabytes", "gib":
		return 1 << 30, nil
	case "byte", "bytes":
		return 1, nil
	}
	if rest, ok := strings.CutPrefix(u, "byte*"); ok {
		if exp, ok := strings.CutPrefix(rest, "2^"); ok {
			if n, err := strconv.Atoi(exp); err == nil && n >= 0 && n <= 40 {
				return 1 << n, nil
			}
		} else if n, err := strconv.ParseUint(rest, 10, 64); err == nil && n > 0 && n <= 1<<40 {
			return n, nil
		}
	}
	return 0, faultf(ErrUnsafe, "OVF allocation units %s are not understood", quoteShort(units))
}
