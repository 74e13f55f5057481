package dns

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseQuery(t *testing.T) {
	b := newQuery(0x1234, "Web-1.NET1.cloudlet", typeAAAA, 1232)
	m, err := parse(b)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	got := struct {
		ID   uint16
		Q    question
		EDNS int
	}{m.ID, m.Q, m.EDNS}
	want := struct {
		ID   uint16
		Q    question
		EDNS int
	}{0x1234, question{Name: "web-1.net1.cloudlet.", Type: typeAAAA, Class: classIN}, 1232}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parse (-want +got):\n%s", diff)
	}
}

func TestReadNameEscapesAndFollowsPointers(t *testing.T) {
	b := append(header{}.append(nil), 3, 'a', '.', 'b', 2, 'C', 'x', 0, 1, 'y', 0xc0, 12)
	name, end, err := readName(b, 12)
	if err != nil || name != "a\\046b.cx." || end != 20 {
		t.Errorf("readName = %q, %d, %v; want %q, 20", name, end, err, "a\\046b.cx.")
	}
	name, end, err = readName(b, 20)
	if err != nil || name != "y.a\\046b.cx." || end != 24 {
		t.Errorf("readName through pointer = %q, %d, %v", name, end, err)
	}
}

// A compression pointer points back to an earlier name, never forward, into the header, into the
// labels it ends, or round a loop.
func TestReadNameRefusesPointersThatDoNotPointBack(t *testing.T) {
	msg := append(header{}.append(nil), 1, 'a', 0, 1, 'b', 0xc0, 12) // a. at 12, b.a. at 15, then 19
	for _, tt := range []struct {
		name string
		b    []byte
		off  int
	}{
		{"into the header", append(header{}.append(nil), 0xc0, 2), 12},
		{"to itself", append(header{}.append(nil), 0xc0, 12), 12},
		{"forward", append(header{}.append(nil), 0xc0, 14, 1, 'a', 0), 12},
		{"into its own labels", append(header{}.append(nil), 1, 'a', 0xc0, 12), 12},
		{"round a loop", append(slices.Clone(msg), 0xc0, 21, 0xc0, 19), 19},
	} {
		if name, _, err := readName(tt.b, tt.off); !errors.Is(err, errMalformed) {
			t.Errorf("%s: readName = %q, %v; want errMalformed", tt.name, name, err)
		}
	}
	if name, end, err := readName(append(slices.Clone(msg), 1, 'c', 0xc0, 15), 19); err != nil || name != "c.b.a." || end != 23 {
		t.Errorf("a chain of pointers back: readName = %q, %d, %v; want c.b.a., 23", name, end, err)
	}
}
