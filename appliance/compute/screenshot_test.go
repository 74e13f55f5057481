package compute

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"cloudlet/appliance/fault"
	"cloudlet/appliance/qemu/qmp/qmptest"
)

func TestScreendumpIsReadOnlyFromARegularFileWithinItsCap(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "host-file")
	if err := os.WriteFile(secret, []byte("P6\n1 1\n255\nabc"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.ppm")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.ppm")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, fifo, dir, filepath.Join(dir, "missing")} {
		if data, err := readCapped(p, 1<<20); err == nil {
			t.Errorf("readCapped(%s) = %q, want an error", filepath.Base(p), data)
		}
	}
	if data, err := readCapped(secret, 14); err != nil || string(data) != "P6\n1 1\n255\nabc" {
		t.Errorf("a regular file at its cap: %q, %v", data, err)
	}
	if _, err := readCapped(secret, 13); err == nil {
		t.Error("a file one byte over its cap was read")
	}
}

// screendumpWrites makes the fake QEMU answer screendump by writing content to the file it names.
func screendumpWrites(t *testing.T, p *fakeProc, content []byte) *string {
	var named string
	p.srv.Handle("screendump", func(args json.RawMessage) (any, *qmptest.Error) {
		var a struct{ Filename string }
		if err := json.Unmarshal(args, &a); err != nil {
			t.Errorf("screendump arguments %s: %v", args, err)
		}
		named = a.Filename
		if err := os.WriteFile(a.Filename, content, 0o600); err != nil {
			return nil, &qmptest.Error{Class: "GenericError", Desc: err.Error()}
		}
		return map[string]any{}, nil
	})
	return &named
}

func TestScreenshotIsAPNGOfQEMUsScreendumpFromTheRunDir(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("shot")
	ppm := append([]byte("P6\n4 3\n255\n"), bytes.Repeat([]byte{1, 2, 3}, 12)...)
	named := screendumpWrites(t, e.hv.proc(inst.ID), ppm)
	out, err := e.svc.Screenshot(context.Background(), testProject, "shot")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(out))
	if err != nil || cfg.Width != 4 || cfg.Height != 3 {
		t.Fatalf("screenshot: %+v, %v; want a 4×3 PNG", cfg, err)
	}
	if want := filepath.Join(e.svc.paths(inst.ID).RunDir, screendumpName); *named != want {
		t.Errorf("QEMU was told to write %s, want %s", *named, want)
	}
	if _, err := os.Stat(*named); !os.IsNotExist(err) {
		t.Errorf("the screendump file is left behind: %v", err)
	}
}

func TestScreenshotOfABrokenScreendumpIsAnErrorAndLeavesNoFile(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("shot")
	named := screendumpWrites(t, e.hv.proc(inst.ID), []byte("P6\n65535 65535\n255\n"))
	if out, err := e.svc.Screenshot(context.Background(), testProject, "shot"); err == nil {
		t.Fatalf("screenshot of a hostile screendump = %d bytes, want an error", len(out))
	}
	if _, err := os.Stat(*named); !os.IsNotExist(err) {
		t.Errorf("the screendump file is left behind: %v", err)
	}
}

func TestScreenshotAndVNCNeedARunningInstance(t *testing.T) {
	e := newEnv(t, nil)
	inst := e.running("off")
	e.act(inst.ID, ActHardStop)
	e.waitFor(inst.ID, VMStopped, PowerShutdown)
	if _, err := e.svc.Screenshot(context.Background(), testProject, "off"); fault.KindOf(err) != fault.Conflict {
		t.Errorf("screenshot of a stopped instance: %v, want a conflict", err)
	}
	if _, _, err := e.svc.DialVNC(context.Background(), testProject, "off"); fault.KindOf(err) != fault.Conflict {
		t.Errorf("vnc of a stopped instance: %v, want a conflict", err)
	}
	if _, err := e.svc.Screenshot(context.Background(), "other-project", "off"); fault.KindOf(err) != fault.NotFound {
		t.Errorf("screenshot from another project: %v, want not found", err)
	}
}
