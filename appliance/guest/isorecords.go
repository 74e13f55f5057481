package guest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"
)

// Directory records and descriptors of the ISO image (ECMA-119 9.1, 8.4, 9.4) with the System Use
// entries of SUSP and Rock Ridge: SP and ER in the root's "." record, PX and NM on every entry.

const (
	modeDir  = 0o040555
	modeFile = 0o100444
)

// entry is one directory record to write.
type entry struct {
	id   []byte
	node *isoNode // whose extent and size the record points at
	su   []byte   // System Use area
}

// entries are the records of directory n: ".", "..", then its children.
func (n *isoNode) entries() []entry {
	parent := n.parent
	if parent == nil {
		parent = n
	}
	dot := entry{id: []byte{0}, node: n, su: px(n)}
	if n.parent == nil { // SUSP's SP must be the root "." record's first entry; ER announces Rock Ridge
		dot.su = append(append(sp(), px(n)...), er()...)
	}
	out := []entry{dot, {id: []byte{1}, node: parent, su: px(parent)}}
	for _, c := range n.children {
		out = append(out, entry{id: []byte(c.isoName), node: c, su: append(px(c), nm(c.name)...)})
	}
	return out
}

// dirSectors is how many sectors n's records take; a record never crosses a sector boundary.
func (n *isoNode) dirSectors() uint32 {
	used, count := 0, uint32(1)
	for _, e := range n.entries() {
		l := recordLen(e)
		if used+l > sectorSize {
			used, count = 0, count+1
		}
		used += l
	}
	return count
}

// records is n's directory extent.
func (n *isoNode) records(now time.Time) []byte {
	out := make([]byte, n.size)
	off := 0
	for _, e := range n.entries() {
		l := recordLen(e)
		if off%sectorSize+l > sectorSize {
			off += sectorSize - off%sectorSize
		}
		copy(out[off:], record(e, now))
		off += l
	}
	return out
}

func recordLen(e entry) int {
	l := 33 + len(e.id)
	if len(e.id)%2 == 0 {
		l++ // a padding byte keeps the System Use area at an even offset
	}
	return l + len(e.su)
}

// record is one directory record.
func record(e entry, now time.Time) []byte {
	r := make([]byte, 0, recordLen(e))
	r = append(r, byte(recordLen(e)), 0)
	r = append(r, both32(e.node.extent)...)
	r = append(r, both32(e.node.size)...)
	r = append(r, recordTime(now)...)
	flags := byte(0)
	if e.node.dir {
		flags = 2
	}
	r = append(r, flags, 0, 0)
	r = append(r, both16(1)...)
	r = append(r, byte(len(e.id)))
	r = append(r, e.id...)
	if len(e.id)%2 == 0 {
		r = append(r, 0)
	}
	return append(r, e.su...)
}

func recordTime(t time.Time) []byte {
	t = t.UTC()
	return []byte{byte(t.Year() - 1900), byte(t.Month()), byte(t.Day()), byte(t.Hour()), byte(t.Minute()), byte(t.Second()), 0}
}

// sp is SUSP's "SP" entry: the System Use area is in use, from offset 0.
func sp() []byte { return []byte{'S', 'P', 7, 1, 0xbe, 0xef, 0} }

// er is SUSP's "ER" entry naming Rock Ridge 1.10; Linux and kdomanski's reader look for it.
func er() []byte {
	id := "RRIP_1991A"
	return append([]byte{'E', 'R', byte(8 + len(id)), 1, byte(len(id)), 0, 0, 1}, id...)
}

// px is Rock Ridge's "PX" entry: mode, links, owner root. A directory's link count is 2 plus its
// subdirectories, which find(1) relies on.
func px(n *isoNode) []byte {
	mode, links := uint32(modeFile), uint32(1)
	if n.dir {
		mode, links = modeDir, 2
		for _, c := range n.children {
			if c.dir {
				links++
			}
		}
	}
	b := []byte{'P', 'X', 36, 1}
	for _, v := range []uint32{mode, links, 0, 0} {
		b = append(b, both32(v)...)
	}
	return b
}

// nm is Rock Ridge's "NM" entry: the real name.
func nm(name string) []byte { return append([]byte{'N', 'M', byte(5 + len(name)), 1, 0}, name...) }

// pathTables are the little- and big-endian path tables of dirs (in path table order).
func pathTables(dirs []*isoNode) (l, m []byte) {
	for _, d := range dirs {
		id, parent := []byte(d.isoName), 1
		if d.parent == nil {
			id = []byte{0}
		} else {
			parent = d.parent.number
		}
		for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
			rec := []byte{byte(len(id)), 0}
			rec = order.AppendUint32(rec, d.extent)
			rec = order.AppendUint16(rec, uint16(parent))
			rec = append(rec, id...)
			if len(id)%2 == 1 {
				rec = append(rec, 0)
			}
			if order == binary.LittleEndian {
				l = append(l, rec...)
			} else {
				m = append(m, rec...)
			}
		}
	}
	return l, m
}

// primaryDescriptor is the Primary Volume Descriptor.
func primaryDescriptor(label string, root *isoNode, total uint32, pathTableSize int, now time.Time) []byte {
	var b bytes.Buffer
	b.Write([]byte{1, 'C', 'D', '0', '0', '1', 1, 0})
	b.Write(padded("LINUX", 32))
	b.Write(padded(label, 32))
	b.Write(make([]byte, 8))
	b.Write(both32(total))
	b.Write(make([]byte, 32))
	b.Write(both16(1)) // volume set size
	b.Write(both16(1)) // volume sequence number
	b.Write(both16(sectorSize))
	b.Write(both32(uint32(pathTableSize)))
	b.Write(binary.LittleEndian.AppendUint32(nil, 18))
	b.Write(make([]byte, 4))
	b.Write(binary.BigEndian.AppendUint32(nil, 19))
	b.Write(make([]byte, 4))
	b.Write(record(entry{id: []byte{0}, node: root}, now))
	b.Write(padded("", 128))         // volume set
	b.Write(padded("", 128))         // publisher
	b.Write(padded("", 128))         // data preparer
	b.Write(padded("CLOUDLET", 128)) // application
	b.Write(padded("", 37*3))        // copyright, abstract, bibliographic files
	stamp := []byte(now.UTC().Format("20060102150405") + "00\x00")
	b.Write(stamp)                                 // created
	b.Write(stamp)                                 // modified
	b.Write(append([]byte("0000000000000000"), 0)) // expires: never
	b.Write(stamp)                                 // effective
	b.Write([]byte{1, 0})                          // file structure version
	out := make([]byte, sectorSize)
	copy(out, b.Bytes())
	if b.Len() != 883 {
		panic(fmt.Sprintf("guest: primary volume descriptor is %d bytes, not 883", b.Len()))
	}
	return out
}
