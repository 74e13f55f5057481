package host

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	cpuinfoVMX    = "processor\t: 0\nflags\t\t: fpu vme sse2 vmx ssse3\n"
	cpuinfoNested = "processor\t: 0\nflags\t\t: fpu vme sse2 hypervisor ssse3\n"
)

// fakeHost is a healthy KVM host; tests change one thing at a time.
type fakeHost struct {
	paths      map[string]string
	versions   map[string]string
	cpuinfo    string
	kvmErr     error
	space      DiskSpace
	writeErr   error
	listenErr  error
	uid        int
	exists     map[string]bool
	noQEMUUser bool
	sysctl     map[string]string
}

func healthyHost() *fakeHost {
	return &fakeHost{
		paths: map[string]string{
			"qemu-system-x86_64": "/usr/bin/qemu-system-x86_64",
			"qemu-img":           "/usr/bin/qemu-img",
			"iptables":           "/usr/sbin/iptables",
			"nft":                "/usr/sbin/nft",
		},
		versions: map[string]string{
			"/usr/bin/qemu-system-x86_64": "QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)",
			"/usr/bin/qemu-img":           "qemu-img version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18)",
			"/usr/sbin/iptables":          "iptables v1.8.9 (nf_tables)",
			"/usr/sbin/nft":               "nftables v1.0.6 (Lester Gooch #5)",
		},
		cpuinfo: cpuinfoVMX,
		space:   DiskSpace{TotalBytes: 100 << 30, FreeBytes: 50 << 30},
		exists:  map[string]bool{"/dev/net/tun": true, "/sys/class/net": true},
		sysctl: map[string]string{"/proc/sys/net/ipv4/ip_forward": "1",
			"/proc/sys/net/bridge/bridge-nf-call-iptables": "1"},
	}
}

func (h *fakeHost) probes() Probes {
	return Probes{
		LookPath: func(name string) (string, error) {
			if p, ok := h.paths[name]; ok {
				return p, nil
			}
			return "", errors.New("executable file not found in $PATH")
		},
		VersionLine: func(_ context.Context, path string) (string, error) { return h.versions[path], nil },
		CPUInfo:     func() ([]byte, error) { return []byte(h.cpuinfo), nil },
		OpenKVM:     func() error { return h.kvmErr },
		Statfs:      func(string) (DiskSpace, error) { return h.space, nil },
		CanWrite:    func(string) error { return h.writeErr },
		Exists:      func(p string) bool { return h.exists[p] },
		ListenTCP:   func(string) error { return h.listenErr },
		UID:         func() int { return h.uid },
		UserExists:  func(name string) bool { return name == "cloudlet-qemu" && !h.noQEMUUser },
		ReadFile: func(path string) ([]byte, error) {
			if v, ok := h.sysctl[path]; ok {
				return []byte(v + "\n"), nil
			}
			return nil, errors.New("no such file or directory")
		},
	}
}

func TestChooseAccel(t *testing.T) {
	noKVM := errors.New("open /dev/kvm: no such file or directory")
	tests := []struct {
		name        string
		mode        string
		kvmErr      error
		cpuVirt     bool
		want        string
		wantWarning bool
		wantErr     bool
	}{
		{"auto on a real KVM host", AccelAuto, nil, true, AccelKVM, false, false},
		{"auto on a nested host without vmx picks tcg", AccelAuto, nil, false, AccelTCG, true, false},
		{"auto without /dev/kvm picks tcg", AccelAuto, noKVM, true, AccelTCG, true, false},
		{"tcg forced", AccelTCG, nil, true, AccelTCG, false, false},
		{"kvm forced on a nested host warns", AccelKVM, nil, false, AccelKVM, true, false},
		{"kvm forced without /dev/kvm fails", AccelKVM, noKVM, true, "", false, true},
		{"unknown mode fails", "xen", nil, true, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warning, err := ChooseAccel(tt.mode, tt.kvmErr, tt.cpuVirt)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want || (warning != "") != tt.wantWarning {
				t.Errorf("ChooseAccel = %q, warning %q; want %q, warning %v", got, warning, tt.want, tt.wantWarning)
			}
		})
	}
}

func TestGatherParsesVersions(t *testing.T) {
	f, err := Gather(context.Background(), healthyHost().probes(), AccelAuto)
	if err != nil {
		t.Fatal(err)
	}
	want := Facts{
		QEMU:      Tool{Name: "qemu-system-x86_64", Path: "/usr/bin/qemu-system-x86_64", Version: "7.2.19"},
		QEMUImg:   Tool{Name: "qemu-img", Path: "/usr/bin/qemu-img", Version: "7.2.19"},
		KVMUsable: true, CPUVirt: true, AccelMode: AccelAuto, Accel: AccelKVM,
	}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("Gather (-want +got):\n%s", diff)
	}
}

func TestDoctor(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(h *fakeHost)
		check   string
		want    Status
		contain string
	}{
		{"healthy host passes everything", func(*fakeHost) {}, "", OK, ""},
		{"missing qemu fails", func(h *fakeHost) { delete(h.paths, "qemu-system-x86_64") }, "qemu-system-x86_64", Fail, "not found"},
		{"missing qemu-img fails", func(h *fakeHost) { delete(h.paths, "qemu-img") }, "qemu-img", Fail, "not found"},
		{"nested host warns about tcg", func(h *fakeHost) { h.cpuinfo = cpuinfoNested }, "acceleration", Warn, "vmx/svm"},
		{"no /dev/kvm warns about tcg", func(h *fakeHost) { h.kvmErr = errors.New("permission denied") }, "acceleration", Warn, "permission denied"},
		{"not root cannot make bridges", func(h *fakeHost) { h.uid = 1000 }, "bridges and taps", Fail, "root"},
		{"no tun device", func(h *fakeHost) { h.exists["/dev/net/tun"] = false }, "bridges and taps", Fail, "/dev/net/tun"},
		{"missing iptables fails", func(h *fakeHost) { delete(h.paths, "iptables") }, "iptables", Fail, "not found"},
		{"missing nft fails", func(h *fakeHost) { delete(h.paths, "nft") }, "nft", Fail, "not found"},
		{"unwritable data dir fails", func(h *fakeHost) { h.writeErr = errors.New("read-only file system") }, "data dir", Fail, "read-only"},
		{"low disk warns", func(h *fakeHost) { h.space.FreeBytes = 1 << 30 }, "free disk", Warn, "1.0 GiB"},
		{"full disk fails", func(h *fakeHost) { h.space.FreeBytes = 10 << 20 }, "free disk", Fail, "10.0 MiB"},
		{"port in use fails", func(h *fakeHost) { h.listenErr = errors.New("address already in use") }, "listen address", Fail, "already in use"},
		{"no QEMU user fails", func(h *fakeHost) { h.noQEMUUser = true }, "QEMU user", Fail, "refuses to start"},
		{"forwarding off warns", func(h *fakeHost) { h.sysctl["/proc/sys/net/ipv4/ip_forward"] = "0" }, "forwarding and bridge firewall", Warn, "ip_forward is off"},
		{"no br_netfilter warns", func(h *fakeHost) { delete(h.sysctl, "/proc/sys/net/bridge/bridge-nf-call-iptables") }, "forwarding and bridge firewall", Warn, "br_netfilter"},
		{"bridge netfilter off warns", func(h *fakeHost) { h.sysctl["/proc/sys/net/bridge/bridge-nf-call-iptables"] = "0" }, "forwarding and bridge firewall", Warn, "bypasses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := healthyHost()
			tt.mutate(h)
			checks := Doctor(context.Background(), h.probes(), DoctorInput{DataDir: "/var/lib/cloudlet", Listen: "127.0.0.1:8080", AccelMode: AccelAuto, QEMUUser: "cloudlet-qemu"})
			if len(checks) != 11 {
				t.Fatalf("got %d checks, want 11", len(checks))
			}
			for _, c := range checks {
				want := OK
				if c.Name == tt.check {
					want = tt.want
					if !strings.Contains(c.Detail, tt.contain) {
						t.Errorf("check %q detail %q does not contain %q", c.Name, c.Detail, tt.contain)
					}
					if want != OK && c.Hint == "" {
						t.Errorf("check %q has no hint", c.Name)
					}
				}
				if c.Status != want {
					t.Errorf("check %q = %s (%s), want %s", c.Name, c.Status, c.Detail, want)
				}
			}
			if got := Failed(checks); got != (tt.want == Fail) {
				t.Errorf("Failed = %v, want %v", got, tt.want == Fail)
			}
		})
	}
}

func TestCPUHasVirt(t *testing.T) {
	for in, want := range map[string]bool{cpuinfoVMX: true, cpuinfoNested: false, "flags : svm": true, "": false, "model name : vmx cpu": false} {
		if got := cpuHasVirt([]byte(in)); got != want {
			t.Errorf("cpuHasVirt(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestSystemProbesOnThisMachine(t *testing.T) {
	p := SystemProbes()
	dir := t.TempDir()
	if err := p.CanWrite(dir + "/not/yet/created"); err != nil {
		t.Errorf("CanWrite on a temp dir's missing child: %v", err)
	}
	space, err := p.Statfs(dir)
	if err != nil || space.TotalBytes == 0 {
		t.Errorf("Statfs(%s) = %+v, %v", dir, space, err)
	}
	if err := p.ListenTCP("127.0.0.1:0"); err != nil {
		t.Errorf("ListenTCP(127.0.0.1:0): %v", err)
	}
}

func TestServiceInfoUptimeFromInjectedClock(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	h := healthyHost()
	facts, _ := Gather(context.Background(), h.probes(), AccelAuto)
	s := NewService("1.2.3", facts, "/data", "/data/catalog.db", h.probes(), clock)
	now = now.Add(90 * time.Second)
	info := s.Info()
	if info.UptimeSeconds != 90 || info.Version != "1.2.3" || info.Accel != AccelKVM || info.Disk.FreeBytes != 50<<30 {
		t.Errorf("Info = %+v", info)
	}
}
