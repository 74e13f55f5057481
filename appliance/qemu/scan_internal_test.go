package qemu

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitOpts(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", []string{""}},
		{"a", []string{"a"}},
		{"socket,id=qmp,path=/r/x.sock", []string{"socket", "id=qmp", "path=/r/x.sock"}},
		{"path=/a,,b/c,,,,d,server=on", []string{"path=/a,b/c,,d", "server=on"}},
		{"unix:/x,,y,server=on,wait=off", []string{"unix:/x,y", "server=on", "wait=off"}},
		{"a,", []string{"a", ""}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, splitOpts(tt.in)); diff != "" {
			t.Errorf("splitOpts(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
		if tt.in != "" && len(tt.want) == 1 && splitOpts(escapeOpt(tt.want[0]))[0] != tt.want[0] {
			t.Errorf("escapeOpt(%q) does not round-trip", tt.want[0])
		}
	}
}

func TestSocketUnder(t *testing.T) {
	tests := []struct {
		argv []string
		want bool
	}{
		{[]string{"qemu", "-qmp", "unix:/run/c/i1/qmp.sock,server=on,wait=off"}, true},
		{[]string{"qemu", "-qmp", "unix:/run/c,,x/i1/qmp.sock,server=on"}, false},
		{[]string{"qemu", "-chardev", "socket,id=s,path=/run/c/i1/console.sock,server=on"}, true},
		{[]string{"qemu", "-chardev", "socket,id=s,path=/run/cx/i1/console.sock"}, false},
		{[]string{"qemu", "-chardev", "socket,id=s,path=/run/c/../d/i1/console.sock"}, false},
		{[]string{"qemu", "-qmp", "tcp:127.0.0.1:4444,server=on"}, false},
		{[]string{"qemu", "-chardev"}, false},
		{[]string{"qemu", "-vnc", "unix:/run/c/i1/vnc.sock"}, false},
	}
	for _, tt := range tests {
		if got := socketUnder(tt.argv, "/run/c"); got != tt.want {
			t.Errorf("socketUnder(%q, /run/c) = %v, want %v", tt.argv, got, tt.want)
		}
	}
}
