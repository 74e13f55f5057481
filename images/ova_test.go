package images

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"cloudlet/appliance/fault"
)

// tarEntry is one entry of a generated OVA.
type tarEntry struct {
	name string
	typ  byte // tar.TypeReg when 0
	data []byte
	link string
}

// ovaBytes writes entries as a tar archive.
func ovaBytes(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, en := range entries {
		typ := en.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: en.name, Typeflag: typ, Mode: 0o644, Size: int64(len(en.data)), Linkname: en.link, Format: tar.FormatUSTAR}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(en.data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ovfXML is an OVF descriptor in the style VirtualBox and VMware write, naming disks by href.
func ovfXML(vcpus, ramMiB int, hrefs ...string) []byte {
	var refs, disks, items strings.Builder
	for i, h := range hrefs {
		fmt.Fprintf(&refs, `<File ovf:id="file%d" ovf:href="%s"/>`, i+1, h)
		fmt.Fprintf(&disks, `<Disk ovf:capacity="8" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk%d" ovf:fileRef="file%d" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>`, i+1, i+1)
		fmt.Fprintf(&items, `<Item><rasd:HostResource>ovf:/disk/vmdisk%d</rasd:HostResource><rasd:InstanceID>%d</rasd:InstanceID><rasd:ResourceType>17</rasd:ResourceType></Item>`, i+1, 10+i)
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
  <References>` + refs.String() + `</References>
  <DiskSection><Info>Virtual disks</Info>` + disks.String() + `</DiskSection>
  <VirtualSystem ovf:id="appliance">
    <Info>A virtual machine</Info>
    <VirtualHardwareSection>
      <Info>Virtual hardware</Info>
      <Item><rasd:Caption>` + fmt.Sprint(vcpus) + ` virtual CPU</rasd:Caption><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>` + fmt.Sprint(vcpus) + `</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>` + fmt.Sprint(ramMiB) + `</rasd:VirtualQuantity></Item>
      ` + items.String() + `
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`)
}

// streamOptimized makes a streamOptimized VMDK of size with the real qemu-img.
func (e *env) streamOptimized(name, size string) []byte {
	e.t.Helper()
	return e.read(e.convertTo(name, "vmdk", size, "-o", "subformat=streamOptimized"))
}

func (e *env) uploadOVA(name string, ova []byte) (*Image, error) {
	e.t.Helper()
	if _, err := e.svc.Create(context.Background(), CreateRequest{ProjectID: projectA, Name: name, ContainerFormat: ContainerOVA}); err != nil {
		e.t.Fatal(err)
	}
	return e.svc.Upload(context.Background(), projectA, name, bytes.NewReader(ova))
}

func TestOVA(t *testing.T) {
	e := newEnv(t)
	ova := ovaBytes(t,
		tarEntry{name: "appliance.ovf", data: ovfXML(2, 1024, "appliance-disk1.vmdk", "appliance-disk2.vmdk")},
		tarEntry{name: "appliance.mf", data: []byte("SHA256(appliance.ovf)= 00\n")},
		tarEntry{name: "appliance-disk1.vmdk", data: e.streamOptimized("d1.vmdk", "16M")},
		tarEntry{name: "appliance-disk2.vmdk", data: e.streamOptimized("d2.vmdk", "8M")},
	)
	img, err := e.uploadOVA("appliance", ova)
	if err != nil {
		t.Fatal(err)
	}
	wantProps := map[string]string{PropOriginalDiskFormat: FormatVMDK, "original_container_format": ContainerOVA, "ovf_vcpus": "2", "ovf_ram_mib": "1024"}
	second := e.byName("appliance-disk2")
	for _, tt := range []struct {
		img     *Image
		virtual int64
	}{{img, 16 << 20}, {second, 8 << 20}} {
		got := tt.img
		if got.Status != StatusActive || got.DiskFormat != FormatQcow2 || got.ContainerFormat != ContainerBare ||
			got.VirtualSize != tt.virtual || got.MinRAMMiB != 1024 {
			t.Errorf("image %s = %+v", got.Name, *got)
		}
		if diff := cmp.Diff(wantProps, got.Properties); diff != "" {
			t.Errorf("properties of %s (-want +got):\n%s", got.Name, diff)
		}
		if sum := sha256File(t, filepath.Join(e.dir, got.ID, "disk")); sum != got.Checksum {
			t.Errorf("%s: stored disk sha256 %s, record %s", got.Name, sum, got.Checksum)
		}
	}
	want := []string{img.ID, filepath.Join(img.ID, "disk"), second.ID, filepath.Join(second.ID, "disk")}
	if diff := cmp.Diff(slices.Sorted(slices.Values(want)), e.dirEntries()); diff != "" {
		t.Errorf("image dir (-want +got):\n%s", diff)
	}
}

// The same OVA through ImportFile (a host file, admin).
func TestOVAFromFile(t *testing.T) {
	e := newEnv(t)
	ova := ovaBytes(t,
		tarEntry{name: "./vm.ovf", data: ovfXML(1, 512, "vm.vmdk")},
		tarEntry{name: "vm.vmdk", data: e.streamOptimized("d.vmdk", "8M")},
	)
	img, err := e.svc.ImportFile(context.Background(), ImportFileRequest{ProjectID: projectA, Name: "vm", Path: e.write("vm.ova", ova), ContainerFormat: ContainerOVA})
	if err != nil {
		t.Fatal(err)
	}
	if img.Status != StatusActive || img.DiskFormat != FormatQcow2 || img.Properties["ovf_vcpus"] != "1" || img.MinRAMMiB != 512 {
		t.Errorf("image = %+v", *img)
	}
}

// Hostile and broken OVAs end killed with nothing written anywhere: not in the image dir, and not
// where a traversing entry name points.
func TestOVARejectsBadInput(t *testing.T) {
	victim := filepath.Join(t.TempDir(), "victim")
	tests := []struct {
		name    string
		entries func(e *env) []tarEntry
		msg     string
	}{
		{"entry climbing out", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 512, "vm.vmdk")}, {name: "../../../../../../.." + victim, data: []byte("owned")}}
		}, "path traversal"},
		{"absolute entry", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 512, "vm.vmdk")}, {name: victim, data: []byte("owned")}}
		}, "absolute path"},
		{"traversing descriptor", func(e *env) []tarEntry {
			return []tarEntry{{name: "../vm.ovf", data: ovfXML(1, 512, "vm.vmdk")}}
		}, "path traversal"},
		{"symlink entry", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 512, "vm.vmdk")}, {name: "vm.vmdk", typ: tar.TypeSymlink, link: "/etc/shadow"}}
		}, "not a regular file"},
		{"hard link entry", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 512, "vm.vmdk")}, {name: "vm.vmdk", typ: tar.TypeLink, link: "/etc/shadow"}}
		}, "not a regular file"},
		{"directory entry", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 512, "vm.vmdk")}, {name: "sub/", typ: tar.TypeDir}}
		}, "not a regular file"},
		{"href climbing out", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 512, "../../etc/shadow")}}
		}, "path traversal"},
		{"href to a URL", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 512, "http://169.254.169.254/disk.vmdk")}}
		}, "is a URL"},
		{"href absolute", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 512, "/etc/shadow")}}
		}, "absolute path"},
		{"descriptor not first", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.vmdk", data: e.streamOptimized("d.vmdk", "1M")}, {name: "vm.ovf", data: ovfXML(1, 512, "vm.vmdk")}}
		}, "first entry of an OVA must be its .ovf"},
		{"disk missing", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 512, "vm.vmdk")}}
		}, "lacks the disk file"},
		{"disk is a flat descriptor", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 512, "vm.vmdk")},
				{name: "vm.vmdk", data: []byte("# Disk DescriptorFile\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"/etc/shadow\" 0\n")}}
		}, "text descriptor"},
		{"disk twice", func(e *env) []tarEntry {
			d := e.streamOptimized("d.vmdk", "1M")
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 512, "vm.vmdk")}, {name: "vm.vmdk", data: d}, {name: "vm.vmdk", data: d}}
		}, "two entries named"},
		{"malformed XML", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: []byte("<Envelope><References>")}}
		}, "not valid XML"},
		{"external entity", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: []byte(`<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><Envelope><References><File href="&x;"/></References></Envelope>`)}}
		}, "not valid XML"},
		{"absurd memory", func(e *env) []tarEntry {
			return []tarEntry{{name: "vm.ovf", data: ovfXML(1, 1<<40, "vm.vmdk")}}
		}, "OVF memory"},
		{"not a tar", func(e *env) []tarEntry { return nil }, "OVA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			data := []byte("this is not a tar archive at all, only text that goes on and on")
			if entries := tt.entries(e); entries != nil {
				data = ovaBytes(t, entries...)
			}
			_, err := e.uploadOVA("vm", data)
			checkErr(t, err, ErrUnsafe, fault.Invalid, tt.msg)
			e.assertKilledClean("vm", tt.msg)
			if _, err := os.Stat(victim); err == nil {
				t.Errorf("%s was written", victim)
			}
			if calls := e.qemuImgCalls(); len(calls) > 0 {
				t.Errorf("qemu-img ran: %q", calls)
			}
		})
	}
}

// A second disk whose image name is taken: the OVA fails as a whole and nothing of it stays.
func TestOVASecondNameTaken(t *testing.T) {
	e := newEnv(t)
	taken := e.importIn(projectA, "vm-disk3", VisibilityPrivate)
	ova := ovaBytes(t,
		tarEntry{name: "vm.ovf", data: ovfXML(1, 512, "a.vmdk", "b.vmdk", "c.vmdk")},
		tarEntry{name: "a.vmdk", data: e.streamOptimized("a.vmdk", "1M")},
		tarEntry{name: "b.vmdk", data: e.streamOptimized("b.vmdk", "1M")},
		tarEntry{name: "c.vmdk", data: e.streamOptimized("c.vmdk", "1M")},
	)
	_, err := e.uploadOVA("vm", ova)
	checkErr(t, err, nil, fault.Conflict, "vm-disk3")
	if diff := cmp.Diff([]string{"project-a/vm", "project-a/vm-disk3"}, slices.Sorted(slices.Values(names(e.records())))); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{taken.ID, filepath.Join(taken.ID, "disk")}, e.dirEntries()); diff != "" {
		t.Errorf("image dir (-want +got):\n%s", diff)
	}
}

func TestMemoryMiB(t *testing.T) {
	tests := []struct {
		q, units string
		want     int
		bad      bool
	}{
		{"1024", "byte * 2^20", 1024, false},
		{"1024", "MegaBytes", 1024, false},
		{"2", "byte * 2^30", 2048, false},
		{"2", "GB", 2048, false},
		{"1073741824", "byte", 1024, false},
		{"512", "", 512, false},
		{"1536", "byte * 1048576", 1536, false},
		{"1", "byte * 2^10", 1, false},
		{"x", "MB", 0, true},
		{"1", "furlongs", 0, true},
		{"18446744073709551615", "byte * 2^40", 0, true},
		{"1", "byte * 2^99", 0, true},
	}
	for _, tt := range tests {
		got, err := memoryMiB(tt.q, tt.units)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("memoryMiB(%q, %q) = %d, %v; want %d (error %v)", tt.q, tt.units, got, err, tt.want, tt.bad)
		}
	}
}
