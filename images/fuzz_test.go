package images

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "regenerate testdata/fuzz from real images made with qemu-img")

// FuzzInspectFormats: no input makes inspect panic in any format, and what it accepts in a format
// other than raw carries that format's signature and no other (no polyglot), and never a parent;
// what it accepts as raw carries no signature at all.
func FuzzInspectFormats(f *testing.F) {
	f.Add(qcow2Image(9, 32), uint8(0))
	f.Add(isoBytes(), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		format := diskFormats[int(which)%len(diskFormats)]
		if inspect(bytes.NewReader(data), int64(len(data)), format, testCap) != nil {
			return
		}
		sigs, err := signatures(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if format == FormatRaw {
			if len(sigs) != 0 {
				t.Errorf("accepted as raw a file with signatures %v", sigs)
			}
			return
		}
		sigs = slices.DeleteFunc(sigs, func(s string) bool { return format == FormatQcow2 && s == FormatISO })
		if !slices.Equal(sigs, []string{format}) {
			t.Errorf("accepted as %s a file with signatures %v", format, sigs)
		}
		switch format {
		case FormatVMDK:
			if !bytes.HasPrefix(data, []byte(vmdkMagic)) || bytes.Contains(data, []byte("parentFileNameHint")) {
				t.Errorf("accepted a VMDK that is not a binary sparse extent, or has a parent")
			}
		case FormatVDI:
			if typ := binary.LittleEndian.Uint32(data[vdiOffImageType:]); typ != vdiTypeDynamic && typ != vdiTypeStatic {
				t.Errorf("accepted a VDI of type %d", typ)
			}
		case FormatVHDX:
			if bytes.Contains(data, []byte(guidParentLocator)) && !bytes.Contains(data, []byte("metadata")) {
				t.Errorf("accepted a VHDX without metadata")
			}
		}
	})
}

// FuzzParseOVF: no descriptor makes parseOVF panic, and what it accepts names only plain files of
// the archive, VMDK disks, and bounded hardware.
func FuzzParseOVF(f *testing.F) {
	f.Add(ovfXML(2, 1024, "disk1.vmdk", "disk2.vmdk"))
	f.Add([]byte(`<Envelope><References><File id="a" href="../x"/></References><DiskSection><Disk diskId="d" fileRef="a" format="vmdk"/></DiskSection></Envelope>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := parseOVF(data)
		if err != nil {
			return
		}
		if len(info.Disks) == 0 || len(info.Disks) > maxOVFDisks || info.RAMMiB > MaxMinRAMMiB || info.VCPUs > maxOVFVCPUs {
			t.Errorf("accepted %+v", info)
		}
		for _, d := range info.Disks {
			if checkMemberName(d.Href) != nil || d.Format != FormatVMDK {
				t.Errorf("accepted disk %+v", d)
			}
		}
	})
}

// FuzzMemberName: an accepted OVA member name never leaves the archive's top directory.
func FuzzMemberName(f *testing.F) {
	for _, s := range []string{"disk1.vmdk", "../x", "/etc/passwd", "a/../../b", "http://x/y", "..", "a\\..\\b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if checkMemberName(name) != nil {
			return
		}
		if name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") || filepath.Base(name) != name {
			t.Errorf("accepted %q", name)
		}
	})
}

// corpusSeed is one seed file of testdata/fuzz: a real header made by qemu-img (or by hand for an
// ISO), cut to what the inspectors read.
type corpusSeed struct {
	name   string
	format string
	data   []byte
}

// corpusSeeds makes the seeds.
func corpusSeeds(e *env) []corpusSeed {
	head := func(path string, n int) []byte {
		b := e.read(path)
		return b[:min(n, len(b))]
	}
	trimmed := func(b []byte) []byte { // cut trailing zeros, to a 512-byte boundary
		end := len(b)
		for end > 0 && b[end-1] == 0 {
			end--
		}
		return b[:min(len(b), (end+511)&^511)]
	}
	flat := filepath.Join(e.src, "flat.vmdk")
	e.runQemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", flat, "1M")
	return []corpusSeed{
		{"qcow2-v3", FormatQcow2, trimmed(head(e.qcow2("v3", "1G"), 4096))},
		{"qcow2-v2", FormatQcow2, trimmed(head(e.qcow2("v2", "1G", "-o", "compat=0.10"), 4096))},
		{"qcow2-backing", FormatQcow2, trimmed(head(e.qcow2("b", "1G", "-u", "-b", "/etc/passwd", "-F", "raw"), 4096))},
		{"qcow2-data-file", FormatQcow2, trimmed(head(e.qcow2("df", "1G", "-o", "data_file="+filepath.Join(e.src, "data")), 4096))},
		{"qcow2-extended-l2-zstd", FormatQcow2, trimmed(head(e.qcow2("x", "1G", "-o", "extended_l2=on,compression_type=zstd"), 4096))},
		{"qcow2-whole-512-byte-clusters", FormatQcow2, e.read(e.qcow2("c", "1M", "-o", "cluster_size=512"))},
		{"qcow2-truncated-after-header", FormatQcow2, head(e.qcow2("t", "64M"), 300)},
		{"vmdk-monolithic-sparse", FormatVMDK, trimmed(head(e.convertTo("s.vmdk", "vmdk", "1M"), 12<<10))},
		{"vmdk-stream-optimized", FormatVMDK, trimmed(head(e.convertTo("o.vmdk", "vmdk", "1M", "-o", "subformat=streamOptimized"), 12<<10))},
		{"vmdk-flat-descriptor", FormatVMDK, e.read(flat)},
		{"vhdx", FormatVHDX, trimmed(head(e.convertTo("v.vhdx", "vhdx", "1M"), 4096))},
		{"vdi", FormatVDI, trimmed(head(e.convertTo("v.vdi", "vdi", "1M"), 4096))},
		{"iso", FormatISO, isoBytes()[:isoMinSize]},
		{"raw", FormatRaw, []byte("\xeb\x63\x90 a boot sector, or anything at all\x55\xaa")},
	}
}

func (e *env) runQemuImg(args ...string) {
	e.t.Helper()
	if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
		e.t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
	}
}

// TestFuzzCorpus keeps testdata/fuzz in step with corpusSeeds: with -update-corpus it writes the
// seed files (Go's corpus format) for FuzzInspectQcow2 and FuzzInspectFormats; without, it checks
// that every seed file is there.
func TestFuzzCorpus(t *testing.T) {
	e := newEnv(t)
	for _, s := range corpusSeeds(e) {
		files := map[string]string{
			filepath.Join("testdata", "fuzz", "FuzzInspectQcow2", s.name):   fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s.data),
			filepath.Join("testdata", "fuzz", "FuzzInspectFormats", s.name): fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbyte(%q)\n", s.data, uint8(slices.Index(diskFormats, s.format))),
		}
		for path, content := range files {
			if *updateCorpus {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("seed %s is missing (run go test -run TestFuzzCorpus -update-corpus): %v", path, err)
				continue
			}
			if !bytes.HasPrefix(got, []byte("go test fuzz v1\n[]byte(")) {
				t.Errorf("seed %s is not in Go's corpus format", path)
			}
		}
	}
}
