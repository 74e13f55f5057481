package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// The parts of RFC 1035 (and RFC 6891's OPT record) this server reads and writes.
const (
	typeA    = 1
	typeAAAA = 28
	typeOPT  = 41
	classIN  = 1

	rcodeNoError  = 0
	rcodeServFail = 2
	rcodeNXDomain = 3
	rcodeNotImp   = 4
	rcodeRefused  = 5

	flagQR = 1 << 15
	flagAA = 1 << 10
	flagTC = 1 << 9
	flagRD = 1 << 8
	flagRA = 1 << 7

	headerLen  = 12
	maxUDPSize = 512   // without EDNS
	maxEDNS    = 4096  // the most this server sends over UDP, whatever the client offers
	maxMsgSize = 65535 // TCP, and upstream replies
	maxNameLen = 255
	maxLabels  = 128 // also bounds compression-pointer chains
)

var errMalformed = errors.New("malformed dns message")

type header struct {
	ID, Flags      uint16
	QD, AN, NS, AR uint16
}

func (h header) opcode() uint16 { return h.Flags >> 11 & 0xf }
func (h header) rcode() uint16  { return h.Flags & 0xf }

func (h header) append(b []byte) []byte {
	for _, v := range []uint16{h.ID, h.Flags, h.QD, h.AN, h.NS, h.AR} {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

// question is a message's only question; Name is canonical (see readName).
type question struct {
	Name        string
	Type, Class uint16
}

// message is what this server needs of a parsed query or reply.
type message struct {
	header
	Q    question
	rawQ []byte // the question as sent: echoed in replies so its case is kept (0x20 randomisation)
	EDNS int    // the sender's UDP payload size from its OPT record; 0 = no EDNS
}

// parse reads a message with exactly one question and checks that every record after it is
// well-formed, noting the OPT record's payload size.
func parse(b []byte) (*message, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: %d bytes", errMalformed, len(b))
	}
	r := be(b)
	m := &message{header: header{r.u16(0), r.u16(2), r.u16(4), r.u16(6), r.u16(8), r.u16(10)}}
	if m.QD != 1 {
		return nil, fmt.Errorf("%w: %d questions", errMalformed, m.QD)
	}
	name, off, err := readName(b, headerLen)
	if err != nil {
		return nil, err
	}
	if off+4 > len(b) {
		return nil, fmt.Errorf("%w: short question", errMalformed)
	}
	m.Q = question{Name: name, Type: r.u16(off), Class: r.u16(off + 2)}
	m.rawQ, off = b[headerLen:off+4], off+4
	for i := 0; i < int(m.AN)+int(m.NS)+int(m.AR); i++ {
		var typ, class uint16
		if typ, class, off, err = skipRecord(b, off); err != nil {
			return nil, err
		}
		if typ == typeOPT && i >= int(m.AN)+int(m.NS) {
			m.EDNS = max(int(class), maxUDPSize)
		}
	}
	if off != len(b) {
		return nil, fmt.Errorf("%w: %d bytes after the last record", errMalformed, len(b)-off)
	}
	return m, nil
}

// skipRecord returns a resource record's type and class and the offset just past it.
func skipRecord(b []byte, off int) (typ, class uint16, end int, err error) {
	if _, off, err = readName(b, off); err != nil {
		return 0, 0, 0, err
	}
	if off+10 > len(b) {
		return 0, 0, 0, fmt.Errorf("%w: short record", errMalformed)
	}
	r := be(b)
	end = off + 10 + int(r.u16(off+8))
	if end > len(b) {
		return 0, 0, 0, fmt.Errorf("%w: record data past the end", errMalformed)
	}
	return r.u16(off), r.u16(off + 2), end, nil
}

// readName reads the name at off (following compression pointers) and returns it in canonical
// form — lower case, with the trailing dot, bytes other than letters, digits, '-' and '_' escaped
// as \DDD so that a label holding a dot cannot pass for two — and the offset just past it.
// A pointer must point back (RFC 1035 4.1.4: to a prior occurrence) past the header and before
// the labels being read: chains cannot loop, and the first question, which has nothing before
// it, has no pointer (it is echoed into replies, where a pointer would name something else).
func readName(b []byte, off int) (string, int, error) {
	var sb strings.Builder
	end, wire, start := -1, 1, off
	for hops := 0; ; hops++ {
		if off >= len(b) || hops > maxLabels {
			return "", 0, fmt.Errorf("%w: bad name", errMalformed)
		}
		n := int(b[off])
		switch {
		case n == 0:
			if end < 0 {
				end = off + 1
			}
			if sb.Len() == 0 {
				sb.WriteByte('.')
			}
			return sb.String(), end, nil
		case n&0xc0 == 0xc0:
			if off+1 >= len(b) {
				return "", 0, fmt.Errorf("%w: short pointer", errMalformed)
			}
			if end < 0 {
				end = off + 2
			}
			ptr := int(binary.BigEndian.Uint16(b[off:]) & 0x3fff)
			if ptr < headerLen || ptr >= start {
				return "", 0, fmt.Errorf("%w: pointer at %d to %d does not point back into the message", errMalformed, off, ptr)
			}
			off, start = ptr, ptr
			continue
		case n&0xc0 != 0:
			return "", 0, fmt.Errorf("%w: label type %#x", errMalformed, n&0xc0)
		}
		if wire += n + 1; wire > maxNameLen || off+1+n > len(b) {
			return "", 0, fmt.Errorf("%w: name too long", errMalformed)
		}
		writeLabel(&sb, b[off+1:off+1+n])
		off += 1 + n
	}
}

func writeLabel(sb *strings.Builder, l []byte) {
	for _, c := range l {
		switch {
		case c >= 'A' && c <= 'Z':
			sb.WriteByte(c + 'a' - 'A')
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_':
			sb.WriteByte(c)
		default:
			fmt.Fprintf(sb, "\\%03d", c)
		}
	}
	sb.WriteByte('.')
}

// appendName writes a plain dotted name (no escapes) in wire form, uncompressed.
func appendName(b []byte, name string) []byte {
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if l != "" {
			b = append(append(b, byte(len(l))), l...)
		}
	}
	return append(b, 0)
}

// appendQuestion writes one question.
func appendQuestion(b []byte, name string, typ, class uint16) []byte {
	b = appendName(b, name)
	b = binary.BigEndian.AppendUint16(b, typ)
	return binary.BigEndian.AppendUint16(b, class)
}

// appendA writes an A record whose name points at the question (offset 12).
func appendA(b []byte, ttl uint32, a netip.Addr) []byte {
	b = append(b, 0xc0, headerLen)
	b = binary.BigEndian.AppendUint16(b, typeA)
	b = binary.BigEndian.AppendUint16(b, classIN)
	b = binary.BigEndian.AppendUint32(b, ttl)
	b = binary.BigEndian.AppendUint16(b, 4)
	a4 := a.As4()
	return append(b, a4[:]...)
}

// appendOPT writes an OPT record offering size bytes over UDP (no options, version 0).
func appendOPT(b []byte, size int) []byte {
	b = append(b, 0) // root name
	b = binary.BigEndian.AppendUint16(b, typeOPT)
	b = binary.BigEndian.AppendUint16(b, uint16(size))
	b = binary.BigEndian.AppendUint32(b, 0) // extended rcode, version, flags
	return binary.BigEndian.AppendUint16(b, 0)
}

// newQuery encodes a recursive query; edns > 0 adds an OPT record offering that size.
func newQuery(id uint16, name string, typ uint16, edns int) []byte {
	h := header{ID: id, Flags: flagRD, QD: 1}
	if edns > 0 {
		h.AR = 1
	}
	b := appendQuestion(h.append(nil), name, typ, classIN)
	if edns > 0 {
		b = appendOPT(b, edns)
	}
	return b
}

// truncate cuts a reply to its header and question, with TC set, keeping ID, flags and rcode.
func truncate(reply []byte, m *message) []byte {
	h := header{ID: be(reply).u16(0), Flags: be(reply).u16(2) | flagTC, QD: 1}
	return append(h.append(make([]byte, 0, headerLen+len(m.rawQ))), m.rawQ...)
}

type be []byte

func (b be) u16(off int) uint16 { return binary.BigEndian.Uint16(b[off:]) }
