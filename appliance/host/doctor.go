package host

import (
	"context"
	"fmt"
	"strings"
)

// Status is the outcome of one doctor check.
type Status string

// Check outcomes. A fail means cloudlet cannot do its job; a warn means it can, worse.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is one line of `cloudlet doctor`.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Hint   string `json:"hint,omitempty"`
}

// DoctorInput is what the checks need from the configuration.
type DoctorInput struct {
	DataDir   string
	Listen    string
	AccelMode string
	QEMUUser  string
	// Serving says the daemon itself runs these checks (GET /api/v1/host/doctor): it holds Listen, so
	// the port is reported as served rather than tried.
	Serving bool
}

// Free-space thresholds for the data dir's filesystem.
const (
	diskWarnBytes = 4 << 30
	diskFailBytes = 512 << 20
)

// Doctor runs every check and returns them in a fixed order.
func Doctor(ctx context.Context, p Probes, in DoctorInput) []Check {
	facts, accelErr := Gather(ctx, p, in.AccelMode)
	return []Check{
		toolCheck(facts.QEMU, "apt-get install qemu-system-x86"),
		toolCheck(facts.QEMUImg, "apt-get install qemu-utils"),
		accelCheck(facts, accelErr),
		bridgeCheck(p),
		forwardingCheck(p),
		iptablesCheck(ctx, p),
		toolCheck(findTool(ctx, p, "nft"), "apt-get install nftables"),
		dataDirCheck(p, in.DataDir),
		diskCheck(p, in.DataDir),
		portCheck(p, in.Listen, in.Serving),
		qemuUserCheck(p, in.QEMUUser),
	}
}

// qemuUserCheck: QEMU should run as an unprivileged user. Root is a choice (qemu_user "root"), and
// a warning; a configured user that does not exist stops the daemon from starting.
func qemuUserCheck(p Probes, name string) Check {
	c := Check{Name: "QEMU user"}
	switch {
	case name == "root":
		c.Status, c.Detail = Warn, "qemu_user is root: QEMU runs with the daemon's privileges"
		c.Hint = "create an unprivileged user (" + QEMUUserAddCommand("cloudlet-qemu") + ") and set qemu_user to it"
	case name == "" || !p.UserExists(name):
		c.Status, c.Detail = Fail, fmt.Sprintf("user %q does not exist: the daemon refuses to start", name)
		c.Hint = QEMUUserAddCommand(name) + " (make install and make run do it), or set qemu_user \"root\" to run QEMU as root"
	default:
		c.Status, c.Detail = OK, fmt.Sprintf("QEMU runs as %s", name)
	}
	return c
}

// QEMUUserAddCommand is the command that creates the QEMU user name, as packaging/deps.sh runs it.
func QEMUUserAddCommand(name string) string {
	return "useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin " + name
}

// Failed reports whether any check failed.
func Failed(checks []Check) bool {
	for _, c := range checks {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

func toolCheck(t Tool, hint string) Check {
	c := Check{Name: t.Name}
	if t.Error != "" {
		c.Status, c.Detail, c.Hint = Fail, t.Error, hint
		return c
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%s version %s", t.Path, t.Version)
	return c
}

func accelCheck(f Facts, err error) Check {
	c := Check{Name: "acceleration"}
	switch {
	case err != nil:
		c.Status, c.Detail, c.Hint = Fail, err.Error(), "use --accel auto or tcg, or enable KVM on this host"
	case f.AccelWarning != "":
		c.Status, c.Detail = Warn, fmt.Sprintf("%s: %s", f.Accel, f.AccelWarning)
		c.Hint = "guests still run, slower; on a VM host enable nested virtualization to get KVM"
	default:
		c.Status, c.Detail = OK, fmt.Sprintf("%s (/dev/kvm usable, CPU has vmx/svm)", f.Accel)
	}
	return c
}

// forwardingCheck explains the kernel settings NAT networks and security groups rely on.
func forwardingCheck(p Probes) Check {
	c := Check{Name: "forwarding and bridge firewall"}
	fwd, err := p.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil || strings.TrimSpace(string(fwd)) != "1" {
		c.Status, c.Detail = Warn, "net.ipv4.ip_forward is off: guests on NAT networks cannot reach outside until cloudlet turns it on at start"
		c.Hint = "cloudlet enables it when it brings up a NAT network; or sysctl -w net.ipv4.ip_forward=1"
		return c
	}
	nf, err := p.ReadFile("/proc/sys/net/bridge/bridge-nf-call-iptables")
	if err != nil {
		c.Status, c.Detail = Warn, "br_netfilter is not loaded: security groups and anti-spoofing cannot see traffic between guests on one bridge"
		c.Hint = "modprobe br_netfilter (and add it to /etc/modules-load.d/)"
		return c
	}
	if strings.TrimSpace(string(nf)) != "1" {
		c.Status, c.Detail = Warn, "net.bridge.bridge-nf-call-iptables is 0: bridged traffic bypasses iptables"
		c.Hint = "sysctl -w net.bridge.bridge-nf-call-iptables=1"
		return c
	}
	c.Status, c.Detail = OK, "ip_forward on, br_netfilter on"
	return c
}

func bridgeCheck(p Probes) Check {
	c := Check{Name: "bridges and taps"}
	var missing []string
	if p.UID() != 0 {
		missing = append(missing, "not running as root (CAP_NET_ADMIN needed)")
	}
	if !p.Exists("/dev/net/tun") {
		missing = append(missing, "/dev/net/tun missing")
	}
	if !p.Exists("/sys/class/net") {
		missing = append(missing, "/sys/class/net missing")
	}
	if len(missing) > 0 {
		c.Status, c.Detail = Fail, strings.Join(missing, "; ")
		c.Hint = "run the daemon as root on a host with the tun module (modprobe tun)"
		return c
	}
	c.Status, c.Detail = OK, "root, /dev/net/tun present"
	return c
}

func iptablesCheck(ctx context.Context, p Probes) Check {
	t := findTool(ctx, p, "iptables")
	c := toolCheck(t, "apt-get install iptables")
	if t.Error == "" {
		c.Detail = fmt.Sprintf("%s version %s", t.Path, t.Version)
	}
	return c
}

func dataDirCheck(p Probes, dir string) Check {
	c := Check{Name: "data dir"}
	if err := p.CanWrite(dir); err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("%s is not writable: %v", dir, err)
		c.Hint = "choose another --data-dir or fix its permissions"
		return c
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%s writable", dir)
	return c
}

func diskCheck(p Probes, dir string) Check {
	c := Check{Name: "free disk"}
	space, err := p.Statfs(dir)
	if err != nil {
		c.Status, c.Detail = Fail, err.Error()
		return c
	}
	c.Detail = fmt.Sprintf("%s free of %s", HumanBytes(space.FreeBytes), HumanBytes(space.TotalBytes))
	switch {
	case space.FreeBytes < diskFailBytes:
		c.Status, c.Hint = Fail, "free space on the data dir's filesystem: images and volumes need room"
	case space.FreeBytes < diskWarnBytes:
		c.Status, c.Hint = Warn, "little room left for images and volumes"
	default:
		c.Status = OK
	}
	return c
}

func portCheck(p Probes, addr string, serving bool) Check {
	c := Check{Name: "listen address"}
	if serving {
		c.Status, c.Detail = OK, fmt.Sprintf("serving on %s", addr)
		return c
	}
	if err := p.ListenTCP(addr); err != nil {
		c.Status, c.Detail = Fail, fmt.Sprintf("cannot listen on %s: %v", addr, err)
		c.Hint = "another process (maybe a running cloudlet) holds the port; choose another with --listen"
		return c
	}
	c.Status, c.Detail = OK, fmt.Sprintf("%s free", addr)
	return c
}

// HumanBytes renders a byte count in binary units ("1.5 GiB"), as the doctor and the dashboard show sizes.
func HumanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
