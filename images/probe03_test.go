package images

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"cloudlet/appliance/fault"
)

// secret is what the probe read through file imports (/etc/shadow, catalog.db, admin-password):
// a file next to the import directory, never inside it.
var secret = bytes.Repeat([]byte("root:$y$j9T$secret-hash:19000:0:99999:7:::\n"), 20)

// Finding 3: an admin's file import read any host file as root, following symlinks and "..".
// Now only regular files inside the import directory are read, never through a symlink: every
// way out is refused with ErrInvalid (400), nothing is recorded, and the secret's bytes appear
// nowhere. Each case runs with openat2 and with the O_NOFOLLOW walk used where openat2 is missing.
func TestProbe03FileImportOutsideTheImportDirIsRefused(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(e *env, outside string) ImportFileRequest
		reason string
	}{
		{"/etc/shadow", func(e *env, _ string) ImportFileRequest { return e.request("x", "/etc/shadow", FormatRaw) },
			"outside the import directory"},
		{"absolute path next to the import dir", func(e *env, outside string) ImportFileRequest {
			return e.request("x", filepath.Join(outside, "shadow"), FormatRaw)
		}, "outside the import directory"},
		{"absolute path climbing out with ..", func(e *env, _ string) ImportFileRequest {
			return e.request("x", e.src+"/../outside/shadow", FormatRaw)
		}, "outside the import directory"},
		{"relative path climbing out with ..", func(e *env, _ string) ImportFileRequest {
			return e.request("x", "../outside/shadow", FormatRaw)
		}, "outside the import directory"},
		{"symlink to the secret", func(e *env, outside string) ImportFileRequest {
			e.symlink(filepath.Join(outside, "shadow"), "disk.raw")
			return e.request("x", "disk.raw", FormatRaw)
		}, "symlink"},
		{"symlink to the secret, absolute", func(e *env, outside string) ImportFileRequest {
			e.symlink(filepath.Join(outside, "shadow"), "disk.raw")
			return e.request("x", filepath.Join(e.src, "disk.raw"), FormatRaw)
		}, "symlink"},
		{"symlink to a file inside the import dir", func(e *env, _ string) ImportFileRequest {
			e.write("real.raw", make([]byte, 4096))
			e.symlink("real.raw", "disk.raw")
			return e.request("x", "disk.raw", FormatRaw)
		}, "symlink"},
		{"symlinked parent directory", func(e *env, outside string) ImportFileRequest {
			e.symlink(outside, "sub")
			return e.request("x", "sub/shadow", FormatRaw)
		}, "symlink"},
		{"kernel through a symlink", func(e *env, outside string) ImportFileRequest {
			r := e.request("x", e.write("disk.raw", make([]byte, 4096)), FormatRaw)
			e.symlink(filepath.Join(outside, "shadow"), "vmlinuz")
			r.KernelPath = "vmlinuz"
			return r
		}, "symlink"},
		{"initrd outside", func(e *env, outside string) ImportFileRequest {
			r := e.request("x", e.write("disk.raw", make([]byte, 4096)), FormatRaw)
			r.KernelPath, r.InitrdPath = e.write("vmlinuz", make([]byte, 512)), filepath.Join(outside, "shadow")
			return r
		}, "outside the import directory"},
		{"the import directory itself", func(e *env, _ string) ImportFileRequest { return e.request("x", e.src, FormatRaw) },
			"not a regular file (a directory)"},
		{"a directory", func(e *env, _ string) ImportFileRequest {
			e.mkdir("dir")
			return e.request("x", "dir", FormatRaw)
		}, "not a regular file (a directory)"},
		{"a FIFO", func(e *env, _ string) ImportFileRequest {
			if err := syscall.Mkfifo(filepath.Join(e.src, "fifo"), 0o600); err != nil {
				e.t.Fatal(err)
			}
			return e.request("x", "fifo", FormatRaw)
		}, "not a regular file (a named pipe)"},
		{"a device", func(e *env, _ string) ImportFileRequest {
			if err := unix.Mknod(filepath.Join(e.src, "null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))); err != nil {
				e.t.Fatalf("mknod (tests run as root): %v", err)
			}
			return e.request("x", "null", FormatRaw)
		}, "not a regular file (a device)"},
		{"a missing file", func(e *env, _ string) ImportFileRequest { return e.request("x", "nope.raw", FormatRaw) },
			"does not exist"},
	}
	for _, walk := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if walk {
				name += " (walk)"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t)
				e.svc.imports.noOpenat2 = walk
				outside := filepath.Join(filepath.Dir(e.src), "outside")
				if err := os.MkdirAll(outside, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(outside, "shadow"), secret, 0o600); err != nil {
					t.Fatal(err)
				}
				_, err := e.svc.ImportFile(context.Background(), tt.setup(e, outside))
				checkErr(t, err, ErrInvalid, fault.Invalid, tt.reason, "only regular files inside the import directory "+e.src)
				e.assertNothingLeft()
				if containsFileWith(t, e.dir, secret[:40]) {
					t.Error("the secret's bytes are in the image store")
				}
			})
		}
	}
}

// What the import directory holds imports, named relative to it or by an absolute path inside it,
// in subdirectories too, with either way of opening.
func TestProbe03FileInTheImportDirImports(t *testing.T) {
	for _, walk := range []bool{false, true} {
		e := newEnv(t)
		e.svc.imports.noOpenat2 = walk
		e.mkdir("guest")
		e.write("guest/disk.raw", make([]byte, 8192))
		kernel := e.write("guest/vmlinuz", []byte("kernel"))
		for _, r := range []ImportFileRequest{
			e.request("rel", "guest/disk.raw", FormatRaw),
			e.request("dotted", "./guest/../guest/disk.raw", FormatRaw),
			e.request("abs", filepath.Join(e.src, "guest", "disk.raw"), FormatRaw),
			withKernelPath(e.request("kernel", "guest/disk.raw", FormatRaw), kernel),
		} {
			if img := e.mustImport(r); img.Status != StatusActive || img.Size != 8192 {
				t.Errorf("import %s (walk %v): %+v", r.Name, walk, *img)
			}
		}
	}
}

// The daemon creates the import directory 0700; without one, file imports are off.
func TestProbe03ImportDirIsCreatedPrivateAndRequired(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Import.Dir = filepath.Join(filepath.Dir(o.Dir), "new-import") })
	fi, err := os.Stat(e.svc.imports.dir)
	if err != nil || fi.Mode().Perm() != 0o700 || !fi.IsDir() {
		t.Errorf("import dir: %v, %v; want a 0700 directory", fi.Mode(), err)
	}
	off := newEnv(t, func(o *Options) { o.Import.Dir = "" })
	_, err = off.svc.ImportFile(context.Background(), off.request("x", off.write("d.raw", make([]byte, 512)), FormatRaw))
	checkErr(t, err, ErrInvalid, fault.Invalid, "file imports are off")
}

func withKernelPath(r ImportFileRequest, kernel string) ImportFileRequest {
	r.KernelPath = kernel
	return r
}

func (e *env) symlink(target, name string) {
	e.t.Helper()
	if err := os.Symlink(target, filepath.Join(e.src, name)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) mkdir(name string) {
	e.t.Helper()
	if err := os.Mkdir(filepath.Join(e.src, name), 0o700); err != nil {
		e.t.Fatal(err)
	}
}
