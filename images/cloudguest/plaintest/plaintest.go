// Package plaintest boots the cloud-init guest under plain QEMU, without cloudlet: a NoCloud seed ISO as a
// read-only CD-ROM, a bridge and tap with dnsmasq answering DHCP on it, QEMU under TCG. It is the baseline
// that cloudlet's own boots are compared with, and the proof that the image works as built.
//
// Boot needs root and must run inside a private network namespace (testkit.RunInNetns in TestMain): it makes
// links there. It is a test helper package: it imports testing.
package plaintest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kdomanski/iso9660"

	"cloudlet/appliance/testproc"
	"cloudlet/images/cloudguest"
)

// Options describe one plain boot.
type Options struct {
	Paths cloudguest.Paths
	// Seed holds the files of the NoCloud seed (volume cidata) by name: meta-data, user-data, and optionally
	// vendor-data or network-config. Nil attaches no seed.
	Seed map[string]string
	// MAC of the guest's NIC; empty for 52:54:00:c1:0d:NN.
	MAC string
	// MemoryMiB of the guest; 0 for 1024.
	MemoryMiB int
	// Extra QEMU arguments, appended (an SMBIOS table, a guest agent channel...).
	Extra []string
}

// Result is what one plain boot showed.
type Result struct {
	Report  cloudguest.Report
	Line    string        // the report line as printed
	Elapsed time.Duration // from QEMU's start to the report line
	Subnet  netip.Prefix  // the bridge's network
	First   netip.Addr    // the first address of dnsmasq's DHCP range
	Last    netip.Addr    // the last one
	Console string        // everything the guest printed up to the report line
}

// boots numbers the boots of this process: each gets its own bridge, tap and subnet.
var boots atomic.Int32

// Boot boots the guest once and returns when its report line appears, ctx ends (bound it: a boot under
// TCG takes one to two minutes on a loaded machine) or QEMU exits. QEMU, dnsmasq and the links are gone
// when it returns; testproc.KillOnCleanup is the safety net for a test that stops half-way.
func Boot(ctx context.Context, t testing.TB, o Options) (Result, error) {
	t.Helper()
	if err := checkPrivateNetns(); err != nil {
		return Result{}, err
	}
	dir := t.TempDir()
	testproc.KillOnCleanup(t, dir)
	n := int(boots.Add(1)) % 250
	lab := &lab{
		dir:    dir,
		bridge: fmt.Sprintf("cgbr%d", n),
		tap:    fmt.Sprintf("cgtap%d", n),
		subnet: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 213, byte(n), 0}), 24),
	}
	res := Result{Subnet: lab.subnet, First: lab.addr(100), Last: lab.addr(199)}
	if err := lab.up(); err != nil {
		return res, err
	}
	defer lab.down()
	dnsmasq, err := lab.startDnsmasq(res.First, res.Last)
	if err != nil {
		return res, err
	}
	defer stop(dnsmasq)
	argv, err := qemuArgs(o, lab, n)
	if err != nil {
		return res, err
	}
	err = runUntilReport(ctx, argv, &res)
	if err != nil {
		err = fmt.Errorf("%w\nqemu %s\ndnsmasq: %s", err, strings.Join(argv, " "), lab.dnsmasqLog.String())
	}
	return res, err
}

// checkPrivateNetns refuses to run where links other than the loopback and Boot's own exist: Boot makes
// links, so it belongs in a private network namespace, never in the host's.
func checkPrivateNetns() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("plain boot: %w", err)
	}
	for _, i := range ifs {
		if i.Name != "lo" && !strings.HasPrefix(i.Name, "cgbr") && !strings.HasPrefix(i.Name, "cgtap") {
			return fmt.Errorf("plain boot: link %s here: not a private network namespace (use testkit.RunInNetns in TestMain); Boot makes a bridge, a tap and dnsmasq", i.Name)
		}
	}
	return nil
}

// lab is one boot's bridge, tap and dnsmasq in the test's namespace.
type lab struct {
	dir, bridge, tap string
	subnet           netip.Prefix
	dnsmasqLog       syncBuffer
}

func (l *lab) addr(host byte) netip.Addr {
	a := l.subnet.Addr().As4()
	a[3] = host
	return netip.AddrFrom4(a)
}

func (l *lab) up() error {
	gw := netip.PrefixFrom(l.addr(1), l.subnet.Bits())
	for _, args := range [][]string{
		{"link", "add", l.bridge, "type", "bridge"},
		{"addr", "add", gw.String(), "dev", l.bridge},
		{"link", "set", l.bridge, "up"},
		{"tuntap", "add", "dev", l.tap, "mode", "tap"},
		{"link", "set", l.tap, "master", l.bridge, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			l.down()
			return fmt.Errorf("plain boot: ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

func (l *lab) down() {
	exec.Command("ip", "link", "del", l.tap).Run()
	exec.Command("ip", "link", "del", l.bridge).Run()
}

// startDnsmasq runs dnsmasq for DHCP only (no DNS) on the bridge; its lease file in l.dir names the dir on
// its command line, so KillOnCleanup finds it.
func (l *lab) startDnsmasq(first, last netip.Addr) (*exec.Cmd, error) {
	bin, err := exec.LookPath("dnsmasq")
	if err != nil {
		return nil, fmt.Errorf("plain boot: dnsmasq not found (apt-get install dnsmasq-base): %w", err)
	}
	cmd := exec.Command(bin, "--keep-in-foreground", "--conf-file=/dev/null", "--pid-file=", "--user=root",
		"--bind-interfaces", "--interface="+l.bridge, "--except-interface=lo", "--port=0",
		fmt.Sprintf("--dhcp-range=%s,%s,255.255.255.0,1h", first, last),
		"--dhcp-leasefile="+filepath.Join(l.dir, "dnsmasq.leases"), "--dhcp-authoritative", "--no-ping",
		"--log-dhcp", "--log-facility=-")
	cmd.Stdout, cmd.Stderr = &l.dnsmasqLog, &l.dnsmasqLog
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("plain boot: start dnsmasq: %w", err)
	}
	return cmd, nil
}

func stop(cmd *exec.Cmd) {
	cmd.Process.Kill()
	cmd.Wait()
}

// qemuArgs is the QEMU command line: TCG, q35, the disk with snapshot=on, the seed as a CD-ROM, the tap.
func qemuArgs(o Options, l *lab, n int) ([]string, error) {
	mem := o.MemoryMiB
	if mem == 0 {
		mem = 1024
	}
	mac := o.MAC
	if mac == "" {
		mac = fmt.Sprintf("52:54:00:c1:0d:%02x", n)
	}
	argv := []string{
		"-accel", "tcg", "-machine", "q35", "-cpu", "max", "-m", fmt.Sprint(mem), "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-serial", "stdio",
		"-kernel", o.Paths.Kernel, "-initrd", o.Paths.Initrd, "-append", o.Paths.Cmdline + " panic=-1",
		"-drive", "file=" + o.Paths.Disk + ",format=qcow2,if=none,id=root,snapshot=on",
		"-device", "virtio-blk-pci,drive=root",
		"-netdev", "tap,id=n0,ifname=" + l.tap + ",script=no,downscript=no",
		"-device", "virtio-net-pci,netdev=n0,mac=" + mac,
		// Names the test's dir, so KillOnCleanup finds this QEMU also when no seed is attached.
		"-pidfile", filepath.Join(l.dir, "qemu.pid"),
	}
	if o.Seed != nil {
		iso := filepath.Join(l.dir, "seed.iso")
		if err := WriteSeed(iso, "cidata", o.Seed); err != nil {
			return nil, err
		}
		// A CD-ROM on virtio-scsi: Debian's cloud kernel has no AHCI driver, so q35's own SATA
		// controller shows the guest no CD-ROM at all.
		argv = append(argv, "-drive", "file="+iso+",format=raw,if=none,id=seed,media=cdrom,readonly=on",
			"-device", "virtio-scsi-pci,id=scsi0", "-device", "scsi-cd,bus=scsi0.0,drive=seed")
	}
	return append(argv, o.Extra...), nil
}

// runUntilReport starts QEMU and reads its console until the report line, ctx's end or QEMU's exit.
func runUntilReport(ctx context.Context, argv []string, res *Result) error {
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return fmt.Errorf("plain boot: qemu-system-x86_64 not found (apt-get install qemu-system-x86): %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("plain boot: %w", err)
	}
	defer pr.Close()
	var console, stderr syncBuffer
	cmd := exec.Command(bin, argv...)
	cmd.Stdout, cmd.Stderr = pw, &stderr
	start := time.Now()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return fmt.Errorf("plain boot: start qemu: %w", err)
	}
	defer stop(cmd)

	found := make(chan string, 1)
	go func() {
		defer close(found)
		line, err := readReport(io.TeeReader(pr, &console))
		if err == nil {
			found <- line
		}
	}()
	select {
	case line, ok := <-found:
		res.Elapsed = time.Since(start)
		res.Console = console.String()
		if !ok {
			return fmt.Errorf("plain boot: the console ended without %s (qemu: %s)\nconsole:\n%s", cloudguest.Marker, stderr.String(), res.Console)
		}
		res.Line = line
		r, ok := cloudguest.ParseReport(line)
		if !ok {
			return fmt.Errorf("plain boot: malformed report line %q", line)
		}
		res.Report = r
		return nil
	case <-ctx.Done():
		res.Console = console.String()
		return fmt.Errorf("plain boot: no %s after %v: %w\nconsole:\n%s", cloudguest.Marker, time.Since(start).Round(time.Second), context.Cause(ctx), res.Console)
	}
}

// readReport returns the first line holding the marker.
func readReport(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if strings.Contains(sc.Text(), cloudguest.Marker) {
			return strings.TrimRight(sc.Text(), "\r"), nil
		}
	}
	return "", errors.Join(io.ErrUnexpectedEOF, sc.Err())
}

// WriteSeed writes an ISO 9660 volume labelled label (cidata for NoCloud) holding files (mode 0600).
// kdomanski/iso9660 writes plain ISO 9660 names, lower-cased, with ";1" (Linux hides it): meta-data,
// user-data, vendor-data and network-config come out as they are.
func WriteSeed(path, label string, files map[string]string) (err error) {
	w, err := iso9660.NewWriter()
	if err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	defer w.Cleanup()
	for name, data := range files {
		if err := w.AddFile(strings.NewReader(data), name); err != nil {
			return fmt.Errorf("write seed %s: add %s: %w", path, name, err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write seed %s: %w", path, cerr)
		}
	}()
	if err := w.WriteTo(f, label); err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	return nil
}

// syncBuffer is a bytes.Buffer that a process's output goroutine writes while Boot reads it (a copy of
// testkit.SyncBuffer: only tests and the e2e harness may import testkit).
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
