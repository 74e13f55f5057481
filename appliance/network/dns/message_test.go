package dns

import (
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
