package images

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// importRoot is the one host directory file imports read from (Options.ImportDir). A request names
// a file relative to it, or by an absolute path that lies inside it; the file is opened beneath the
// directory's descriptor without following any symlink (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS,
// or a walk with O_NOFOLLOW where the kernel lacks openat2), so neither "..", nor a symlink, nor a
// symlinked parent directory leads anywhere else. Only regular files are imported.
type importRoot struct {
	dir       string // absolute and clean; "" when file imports are off
	noOpenat2 bool   // tests only: walk as on a kernel without openat2
}

// errOutside is the reason for a path that leaves the import directory.
var errOutside = errors.New("it lies outside the import directory")

// open opens name (what: fileDisk, fileKernel or fileInitrd) for reading. Every refusal is
// ErrInvalid with one message that says what is allowed and why this file is not.
func (r importRoot) open(what, name string) (*os.File, error) {
	if r.dir == "" {
		return nil, faultf(ErrInvalid, "%s file %s: file imports are off (no import directory is configured)", what, quoteShort(name))
	}
	f, err := r.openFile(name)
	if err == nil {
		err = checkRegularFile(f)
	}
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, faultf(ErrInvalid, "%s file %s cannot be imported: %s; only regular files inside the import directory %s are imported, never through a symlink",
			what, quoteShort(name), refusalReason(err), r.dir)
	}
	return f, nil
}

func (r importRoot) openFile(name string) (*os.File, error) {
	rel, err := r.relative(name)
	if err != nil {
		return nil, err
	}
	root, err := unix.Open(r.dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the import directory: %w", err)
	}
	defer unix.Close(root)
	open := openBeneath
	if r.noOpenat2 {
		open = walkBeneath
	}
	fd, err := open(root, rel)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), filepath.Join(r.dir, rel)), nil
}

// relative turns name into a clean path relative to the import directory. ".." is resolved on
// the name's text (a symlink it might have crossed is refused by openBeneath anyway), so a name
// that climbs out is refused here; an absolute name must lie inside the directory.
func (r importRoot) relative(name string) (string, error) {
	rel := filepath.Clean(name)
	if filepath.IsAbs(rel) {
		var err error
		if rel, err = filepath.Rel(r.dir, rel); err != nil {
			return "", errOutside
		}
	}
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", errOutside
	}
	return rel, nil
}

// openFlags open an import source: read-only, and without blocking on a FIFO (regular files ignore
// O_NONBLOCK) or making a terminal the controlling one.
const openFlags = unix.O_RDONLY | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC

// openBeneath opens rel beneath the directory root with openat2, or with walkBeneath on a kernel
// without it (before Linux 5.6, or a seccomp filter that hides it).
func openBeneath(root int, rel string) (int, error) {
	how := unix.OpenHow{Flags: openFlags, Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	for {
		fd, err := unix.Openat2(root, rel, &how)
		switch {
		case err == unix.EINTR || err == unix.EAGAIN: // EAGAIN: a concurrent rename; try again
			continue
		case err == unix.ENOSYS || err == unix.EPERM:
			return walkBeneath(root, rel)
		}
		return fd, err
	}
}

// walkBeneath opens rel one component at a time with O_NOFOLLOW, refusing "..": the same promise
// as openat2's RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS for kernels without it.
func walkBeneath(root int, rel string) (int, error) {
	parts := slices.DeleteFunc(strings.Split(rel, "/"), func(p string) bool { return p == "" || p == "." })
	if len(parts) == 0 {
		return unix.Openat(root, ".", openFlags|unix.O_NOFOLLOW, 0)
	}
	dir, err := unix.Dup(root)
	if err != nil {
		return -1, err
	}
	for i, p := range parts {
		if p == ".." {
			unix.Close(dir)
			return -1, unix.EXDEV
		}
		flags := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			flags = openFlags | unix.O_NOFOLLOW
		}
		next, err := unix.Openat(dir, p, flags, 0)
		if err == unix.ENOTDIR && isSymlinkAt(dir, p) {
			err = unix.ELOOP
		}
		unix.Close(dir)
		if err != nil {
			return -1, err
		}
		dir = next
	}
	return dir, nil
}

// isSymlinkAt reports whether name in dir is a symlink.
func isSymlinkAt(dir int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// checkRegularFile refuses directories, FIFOs, sockets and devices.
func checkRegularFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return notRegular{fi.Mode().Type()}
	}
	return nil
}

type notRegular struct{ mode fs.FileMode }

func (n notRegular) Error() string { return "not a regular file" }

// refusalReason says in a few words why a file was refused.
func refusalReason(err error) string {
	var nr notRegular
	switch {
	case errors.As(err, &nr):
		return fmt.Sprintf("it is not a regular file (%s)", describeMode(nr.mode))
	case errors.Is(err, errOutside) || errors.Is(err, unix.EXDEV):
		return errOutside.Error()
	case errors.Is(err, unix.ELOOP):
		return "a symlink is on its path"
	case errors.Is(err, unix.ENOENT):
		return "it does not exist"
	case errors.Is(err, unix.ENOTDIR):
		return "a component of its path is not a directory"
	}
	return fmt.Sprintf("it cannot be opened (%v)", err)
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return m.String()
}

// openImportRoot makes dir absolute and creates it (0700) when missing; "" means no imports.
func openImportRoot(dir string) (importRoot, error) {
	if dir == "" {
		return importRoot{}, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return importRoot{}, fmt.Errorf("images: resolve import directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return importRoot{}, fmt.Errorf("images: create import directory %s: %w", abs, err)
	}
	return importRoot{dir: abs}, nil
}
