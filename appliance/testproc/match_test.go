package testproc_test

import (
	"testing"

	"cloudlet/appliance/testproc"
)

func TestMentionsFindsTheDirectoryOnlyAsAWholePath(t *testing.T) {
	const dir = "/tmp/clr123"
	for _, tt := range []struct {
		arg  string
		want bool
	}{
		{"/tmp/clr123", true},
		{"/tmp/clr123/instances/u1/qmp.sock", true},
		{"unix:/tmp/clr123/i/qmp.sock,server=on,wait=off", true},
		{"socket,id=s,path=/tmp/clr123/i/console.sock", true},
		{"file=/tmp/clr123/disk.qcow2,format=qcow2", true},
		{"--run-dir=/tmp/clr123", true},
		{"/tmp/clr1234/qmp.sock", false}, // another test's run dir
		{"/tmp/clr123.old/qmp.sock", false},
		{"/tmp/clr123-b", false},
		{"/x/tmp/clr123/qmp.sock", false}, // another tree
		{"/tmp/clr12", false},
		{"clr123", false},
		{"", false},
	} {
		if got := testproc.Mentions([]string{"qemu-system-x86_64", tt.arg}, dir); got != tt.want {
			t.Errorf("Mentions(%q, %q) = %v, want %v", tt.arg, dir, got, tt.want)
		}
	}
}

func TestFindRefusesDirectoriesThatWouldMatchTooMuch(t *testing.T) {
	for _, dir := range []string{"/", "/tmp", "tmp/x", "/tmp/x/", "/tmp/../x", ""} {
		if _, err := testproc.Find(dir); err == nil {
			t.Errorf("Find(%q) = nil error, want a refusal", dir)
		}
	}
	if _, err := testproc.Find(); err == nil {
		t.Error("Find() with no directory = nil error, want a refusal")
	}
}
