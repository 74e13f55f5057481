package guest

import (
	"encoding/binary"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// An ISO 9660 image with Rock Ridge names, written here because github.com/kdomanski/iso9660's writer
// (v0.4.0) has neither Rock Ridge nor Joliet: it mangles "meta-data" into "meta_data;1", a name
// cloud-init never asks for. Its reader does parse Rock Ridge, and the tests read images back with it
// and with a real Linux mount. Only what a seed needs: a few small files in a few directories,
// read-only, one volume, no Joliet. References: ECMA-119 (ISO 9660), IEEE P1281 (SUSP) and P1282
// (RRIP 1.10, "RRIP_1991A").

const sectorSize = 2048

// isoNode is a directory or file of the image being laid out.
type isoNode struct {
	name     string // the real (Rock Ridge) name; "" for the root
	isoName  string // the ISO 9660 identifier
	data     []byte // a file's contents
	dir      bool
	children []*isoNode // sorted by isoName
	parent   *isoNode
	number   int    // a directory's number in the path table, from 1
	extent   uint32 // first sector
	size     uint32 // bytes: a file's length, a directory's whole sectors
}

// buildISO returns an ISO 9660 image labelled label holding files, by slash-separated path.
func buildISO(label string, files map[string][]byte, now time.Time) ([]byte, error) {
	root := &isoNode{dir: true}
	for _, p := range slices.Sorted(mapsKeys(files)) {
		if err := root.add(strings.Split(p, "/"), files[p]); err != nil {
			return nil, fmt.Errorf("iso %s: %s: %w", label, p, err)
		}
	}
	dirs := root.directories()
	for i, d := range dirs {
		d.number = i + 1
		slices.SortFunc(d.children, func(a, b *isoNode) int { return strings.Compare(a.isoName, b.isoName) })
		if err := d.checkNames(); err != nil {
			return nil, fmt.Errorf("iso %s: %w", label, err)
		}
	}
	l, _ := pathTables(dirs)
	if len(l) > sectorSize {
		return nil, fmt.Errorf("iso %s: too many directories", label)
	}
	next := uint32(20) // 16 system sectors, the volume descriptor and its terminator, two path tables
	for _, d := range dirs {
		d.size = d.dirSectors() * sectorSize
		d.extent, next = next, next+d.size/sectorSize
	}
	for _, d := range dirs {
		for _, f := range d.children {
			if !f.dir {
				f.size, f.extent = uint32(len(f.data)), next
				next += sectors(len(f.data))
			}
		}
	}
	l, m := pathTables(dirs) // again, now that the extents are known
	img := make([]byte, int(next)*sectorSize)
	copy(img[16*sectorSize:], primaryDescriptor(label, root, next, len(l), now))
	copy(img[17*sectorSize:], []byte{255, 'C', 'D', '0', '0', '1', 1})
	copy(img[18*sectorSize:], l)
	copy(img[19*sectorSize:], m)
	for _, d := range dirs {
		copy(img[d.extent*sectorSize:], d.records(now))
		for _, f := range d.children {
			if !f.dir {
				copy(img[f.extent*sectorSize:], f.data)
			}
		}
	}
	return img, nil
}

// add puts a file at the path below n, making the directories on the way.
func (n *isoNode) add(parts []string, data []byte) error {
	name := parts[0]
	if name == "" || name == "." || name == ".." || len(name) > 200 {
		return fmt.Errorf("bad path element %q", name)
	}
	for _, c := range n.children {
		if c.name == name {
			if len(parts) == 1 || !c.dir {
				return fmt.Errorf("%s given twice", name)
			}
			return c.add(parts[1:], data)
		}
	}
	c := &isoNode{name: name, parent: n, dir: len(parts) > 1}
	c.isoName = n.uniqueISOName(isoIdentifier(name, c.dir), c.dir)
	n.children = append(n.children, c)
	if c.dir {
		return c.add(parts[1:], data)
	}
	c.data = data
	return nil
}

// uniqueISOName is id, or when a sibling has that ISO 9660 name already (names differing only in case,
// punctuation or past the truncation), id with a number in place of its last characters.
func (n *isoNode) uniqueISOName(id string, dir bool) string {
	taken := func(id string) bool {
		return slices.ContainsFunc(n.children, func(c *isoNode) bool { return c.isoName == id })
	}
	base, suffix := id, ""
	if !dir {
		base, suffix, _ = strings.Cut(id, ".")
		suffix = "." + suffix
	}
	for i := 1; taken(id); i++ {
		num := strconv.Itoa(i)
		id = base[:min(len(base), 8-len(num))] + num + suffix
	}
	return id
}

// directories lists the directory tree breadth first: the order of the path table.
func (n *isoNode) directories() []*isoNode {
	out := []*isoNode{n}
	for i := 0; i < len(out); i++ {
		for _, c := range out[i].children {
			if c.dir {
				out = append(out, c)
			}
		}
	}
	return out
}

func (n *isoNode) checkNames() error {
	for i := 1; i < len(n.children); i++ {
		if n.children[i].isoName == n.children[i-1].isoName {
			return fmt.Errorf("%s and %s have the same ISO 9660 name", n.children[i-1].name, n.children[i].name)
		}
	}
	return nil
}

// isoIdentifier is the plain ISO 9660 name behind the Rock Ridge one: d-characters, ";1" on files.
func isoIdentifier(name string, dir bool) string {
	mangle := func(s string, max int) string {
		b := []byte(strings.ToUpper(s))
		for i, c := range b {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				b[i] = '_'
			}
		}
		return string(b[:min(len(b), max)])
	}
	if dir {
		return mangle(name, 31)
	}
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	return mangle(base, 24) + "." + mangle(strings.TrimPrefix(ext, "."), 5) + ";1"
}

func sectors(n int) uint32 { return uint32((n + sectorSize - 1) / sectorSize) }

func mapsKeys(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// both16 and both32 write a number in both byte orders, as ISO 9660 wants most numbers.
func both16(v uint16) []byte {
	b := make([]byte, 4)
	binary.LittleEndian.PutUint16(b, v)
	binary.BigEndian.PutUint16(b[2:], v)
	return b
}

func both32(v uint32) []byte {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint32(b, v)
	binary.BigEndian.PutUint32(b[4:], v)
	return b
}

// padded is s in a field of n bytes filled with spaces.
func padded(s string, n int) []byte {
	return []byte(s + strings.Repeat(" ", n-len(s)))
}
