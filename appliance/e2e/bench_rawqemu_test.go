package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

// qemuTemplate is the argv the daemon ran for one instance, to be started again by hand.
type qemuTemplate struct {
	argv             []string
	runDir, stateDir string // the instance's directories the argv names; rewritten per copy
	base, baseFormat string // the image file the instance's root disk overlays
	diskBytes        int64  // the overlay's virtual size, as the daemon creates it
	rootDisk         string // the root disk (the boot volume's active file), replaced by a fresh overlay
}

// captureTemplate reads the running instance's QEMU command line from /proc.
func captureTemplate(c *Cloud, inst compute.Instance) (qemuTemplate, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", inst.PID))
	if err != nil {
		return qemuTemplate{}, fmt.Errorf("read QEMU command line of instance %s: %w", inst.ID, err)
	}
	tpl := qemuTemplate{
		argv:   strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00"),
		runDir: filepath.Join(c.D.RunDir, "instances", inst.ID), stateDir: filepath.Join(c.D.DataDir, "instances", inst.ID),
		diskBytes: int64(inst.Flavor.DiskGiB) << 30,
	}
	if !strings.HasPrefix(filepath.Base(tpl.argv[0]), "qemu-system-") || !argvMentions(tpl.argv, tpl.runDir) {
		return qemuTemplate{}, fmt.Errorf("pid %d is not the QEMU of instance %s: %q", inst.PID, inst.ID, tpl.argv)
	}
	if tpl.rootDisk = rootFile(tpl.argv); tpl.rootDisk == "" {
		return qemuTemplate{}, fmt.Errorf("no root disk in the QEMU argv of instance %s", inst.ID)
	}
	out, err := exec.Command("qemu-img", "info", "-U", "-f", "qcow2", "--output=json", tpl.rootDisk).Output()
	if err != nil {
		return qemuTemplate{}, fmt.Errorf("qemu-img info %s: %w", tpl.rootDisk, err)
	}
	var info struct {
		Backing string `json:"full-backing-filename"`
		Format  string `json:"backing-filename-format"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return qemuTemplate{}, err
	}
	tpl.base, tpl.baseFormat = info.Backing, info.Format
	return tpl, nil
}

// rootFile is the file of the root disk's file node ("file-root") in a QEMU argv.
func rootFile(argv []string) string {
	for _, a := range argv {
		var node struct {
			NodeName string `json:"node-name"`
			Filename string `json:"filename"`
		}
		if json.Unmarshal([]byte(a), &node) == nil && node.NodeName == "file-root" {
			return node.Filename
		}
	}
	return ""
}

func argvMentions(argv []string, sub string) bool {
	for _, a := range argv {
		if strings.Contains(a, sub) {
			return true
		}
	}
	return false
}

// rawVM is one QEMU started by hand from a template, in directories of its own.
type rawVM struct {
	argv                 []string
	dir, qmp, consoleLog string
	cmd                  *exec.Cmd
}

// prepare lays out fresh run and state dirs under dir and creates the root disk overlay, as the daemon
// does before it starts QEMU; nothing of it is timed as QEMU start.
func (tpl qemuTemplate) prepare(dir string) (*rawVM, error) {
	run, state := filepath.Join(dir, "run"), filepath.Join(dir, "state")
	for _, d := range []string{run, state} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	disk := filepath.Join(state, "root.qcow2")
	args := []string{"create", "-q", "-f", "qcow2", "-F", tpl.baseFormat, "-b", tpl.base, disk}
	if tpl.diskBytes > 0 {
		args = append(args, strconv.FormatInt(tpl.diskBytes, 10))
	}
	out, err := exec.Command("qemu-img", args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("qemu-img create %s: %v: %s", disk, err, out)
	}
	vm := &rawVM{dir: dir, qmp: filepath.Join(run, "qmp.sock"), consoleLog: filepath.Join(state, "console.log")}
	r := strings.NewReplacer(tpl.runDir, run, tpl.stateDir, state, tpl.rootDisk, disk)
	for _, a := range tpl.argv {
		vm.argv = append(vm.argv, r.Replace(a))
	}
	return vm, nil
}

// start execs QEMU the way the daemon does: empty environment, cwd /, its own session, output to a log.
func (vm *rawVM) start() error {
	log, err := os.Create(filepath.Join(vm.dir, "run", "qemu.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	vm.cmd = exec.Command(vm.argv[0], vm.argv[1:]...)
	vm.cmd.Stdout, vm.cmd.Stderr = log, log
	vm.cmd.Env, vm.cmd.Dir = []string{}, "/"
	vm.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := vm.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", vm.argv[0], err)
	}
	return nil
}

// cont speaks the least QMP that runs a QEMU started with -S: read the greeting, qmp_capabilities,
// cont. It dials every millisecond until QEMU listens.
func (vm *rawVM) cont(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var conn net.Conn
	for {
		var err error
		if conn, err = net.Dial("unix", vm.qmp); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dial QMP %s: %w (qemu log: %s)", vm.qmp, err, vm.log())
		}
		time.Sleep(time.Millisecond)
	}
	defer conn.Close()
	conn.SetDeadline(deadline)
	r := bufio.NewReader(conn)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, `{"QMP"`) {
		return fmt.Errorf("QMP greeting on %s: %q, %v", vm.qmp, line, err)
	}
	for _, cmd := range []string{"qmp_capabilities", "cont"} {
		if err := qmpExecute(conn, r, cmd); err != nil {
			return fmt.Errorf("QMP %s on %s: %w", cmd, vm.qmp, err)
		}
	}
	return nil
}

// qmpExecute sends one command and reads until its answer, skipping events.
func qmpExecute(w io.Writer, r *bufio.Reader, cmd string) error {
	if _, err := fmt.Fprintf(w, "{\"execute\":%q}\n", cmd); err != nil {
		return err
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(line, `{"return"`):
			return nil
		case strings.HasPrefix(line, `{"error"`):
			return fmt.Errorf("%s", strings.TrimSpace(line))
		}
	}
}

// kill sends SIGKILL to the QEMU by its pid, reaps it and removes its directories.
func (vm *rawVM) kill() {
	if vm.cmd != nil && vm.cmd.Process != nil {
		vm.cmd.Process.Kill()
		vm.cmd.Wait()
		vm.cmd = nil
	}
	os.RemoveAll(vm.dir)
}

func (vm *rawVM) log() string {
	data, _ := os.ReadFile(filepath.Join(vm.dir, "run", "qemu.log"))
	return Tail(string(data), 500)
}

// rawRoot is a short-named directory for raw QEMUs (unix socket paths stay under 108 bytes). Cleanup
// kills any QEMU still running from it — a safety net: each rawVM is killed right after use.
func rawRoot(b *testing.B) string {
	b.Helper()
	dir, err := os.MkdirTemp("", "clq")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		reapQEMU(b, dir)
		os.RemoveAll(dir)
	})
	return dir
}
