package volume

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// qemuImgChildEnv makes the test binary a daemon stand-in that runs the qemu-img of that directory.
const qemuImgChildEnv = "CLOUDLET_VOLUME_TEST_QEMUIMG_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(qemuImgChildEnv); dir != "" {
		qemuImg{path: filepath.Join(dir, "qemu-img")}.run(context.Background(), time.Hour, "rebase")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Found by the crash-cycle harness: a qemu-img running when the daemon was killed outlived it, holding
// its write lock on the volume's file, and the next start's clean-up failed on that lock. A qemu-img
// dies with the daemon.
func TestQEMUImgDiesWhenTheDaemonIsKilled(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho $$ > " + filepath.Join(dir, "pid") + ".tmp\nmv " + filepath.Join(dir, "pid") + ".tmp " +
		filepath.Join(dir, "pid") + "\nexec sleep 600\n"
	if err := os.WriteFile(filepath.Join(dir, "qemu-img"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	daemon := exec.Command(os.Args[0], "-test.run=^$")
	daemon.Env = append(os.Environ(), qemuImgChildEnv+"="+dir)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	pid := waitPIDFile(t, filepath.Join(dir, "pid"))
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	daemon.Process.Kill()
	daemon.Wait()

	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !running(pid) {
			return
		}
	}
	t.Errorf("qemu-img (pid %d) still runs after the daemon was killed", pid)
}

// waitPIDFile returns the pid the fake qemu-img wrote once it runs.
func waitPIDFile(t *testing.T, path string) int {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatal("the fake qemu-img never ran")
	return 0
}

// running reports whether pid is a live process (not gone, not a zombie).
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(b))
	return len(fields) > 2 && fields[2] != "Z"
}
