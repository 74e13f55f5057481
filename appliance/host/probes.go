package host

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Probes are the host's primitive facts. SystemProbes reads the real machine; tests build fakes.
type Probes struct {
	LookPath    func(name string) (string, error)
	VersionLine func(ctx context.Context, path string) (string, error) // first line of `path --version`
	CPUInfo     func() ([]byte, error)
	OpenKVM     func() error // nil when /dev/kvm opens read-write
	Statfs      func(path string) (DiskSpace, error)
	CanWrite    func(dir string) error // nil when a file can be created in dir (or its nearest existing parent)
	Exists      func(path string) bool
	ListenTCP   func(addr string) error // nil when addr can be bound now
	UID         func() int
	UserExists  func(name string) bool
	ReadFile    func(path string) ([]byte, error) // for /proc/sys settings
}

// DiskSpace is the size of the filesystem holding a path.
type DiskSpace struct {
	TotalBytes uint64 `json:"total_bytes"`
	FreeBytes  uint64 `json:"free_bytes"`
}

// SystemProbes returns probes that read this machine.
func SystemProbes() Probes {
	return Probes{
		LookPath:    exec.LookPath,
		VersionLine: versionLine,
		CPUInfo:     func() ([]byte, error) { return os.ReadFile("/proc/cpuinfo") },
		OpenKVM:     openKVM,
		Statfs:      statfs,
		CanWrite:    canWrite,
		Exists:      func(p string) bool { _, err := os.Stat(p); return err == nil },
		ListenTCP:   listenTCP,
		UID:         os.Getuid,
		UserExists:  func(name string) bool { _, err := user.Lookup(name); return err == nil },
		ReadFile:    os.ReadFile,
	}
}

func versionLine(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("run %s --version: %w", path, err)
	}
	line, _, _ := bytes.Cut(out, []byte("\n"))
	return strings.TrimSpace(string(line)), nil
}

func openKVM() error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

func statfs(path string) (DiskSpace, error) {
	path = nearestExisting(path)
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return DiskSpace{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bsize := uint64(st.Bsize)
	return DiskSpace{TotalBytes: st.Blocks * bsize, FreeBytes: st.Bavail * bsize}, nil
}

func canWrite(dir string) error {
	dir = nearestExisting(dir)
	f, err := os.CreateTemp(dir, ".cloudlet-doctor-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func listenTCP(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

// nearestExisting walks up from path to the first directory that exists.
func nearestExisting(path string) string {
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if _, err := os.Stat(p); err == nil || p == "/" || p == "." {
			return p
		}
	}
}

// cpuHasVirt reports whether /proc/cpuinfo's flags include vmx (Intel VT-x) or svm (AMD-V).
func cpuHasVirt(cpuinfo []byte) bool {
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(key) != "flags" {
			continue
		}
		for _, f := range strings.Fields(val) {
			if f == "vmx" || f == "svm" {
				return true
			}
		}
	}
	return false
}

var errNotFound = errors.New("not found in PATH")
