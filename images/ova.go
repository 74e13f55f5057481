package images

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"cloudlet/appliance/fault"
)

// maxOVAEntries bounds the entries of an OVA; real ones have an OVF, a manifest, maybe a
// certificate, and a few disks.
const maxOVAEntries = 64

// unpackOVA reads the OVA in data entry by entry, never extracting a path to disk: the first entry
// must be the OVF descriptor; the disks it names are copied into the image directory under
// temporary names of cloudlet's choosing; every other entry is skipped. data is removed. On
// failure every copy is removed too.
func (s *Service) unpackOVA(ctx context.Context, dir string, data *staged) (_ *ovfInfo, _ []*disk, err error) {
	defer os.Remove(data.tmp)
	f, err := os.Open(data.tmp)
	if err != nil {
		return nil, nil, fmt.Errorf("open received OVA: %w", err)
	}
	defer f.Close()
	u := &ovaUnpacker{s: s, ctx: ctx, dir: dir, files: map[string]*staged{}}
	defer func() {
		if err != nil {
			u.removeAll()
		}
	}()
	if err := u.read(tar.NewReader(ctxReader{ctx, f})); err != nil {
		return nil, nil, fmt.Errorf("unpack OVA: %w", err)
	}
	disks, err := u.disks()
	if err != nil {
		return nil, nil, fmt.Errorf("unpack OVA: %w", err)
	}
	return u.info, disks, nil
}

// ovaUnpacker holds the state of one pass over an OVA.
type ovaUnpacker struct {
	s     *Service
	ctx   context.Context
	dir   string
	info  *ovfInfo           // nil until the first entry is read
	files map[string]*staged // copies of the disk entries the OVF names, by entry name
}

func (u *ovaUnpacker) read(tr *tar.Reader) error {
	for i := 0; ; i++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return u.readErr(err)
		}
		if i >= maxOVAEntries {
			return faultf(ErrUnsafe, "OVA has more than %d entries", maxOVAEntries)
		}
		if h.Typeflag == tar.TypeXGlobalHeader { // archive-wide metadata, no file
			continue
		}
		name, err := ovaEntryName(h)
		if err != nil {
			return err
		}
		if err := u.entry(tr, h, name); err != nil {
			return err
		}
	}
	if u.info == nil {
		return faultf(ErrUnsafe, "OVA holds no OVF descriptor")
	}
	return nil
}

// entry handles one regular file of the archive.
func (u *ovaUnpacker) entry(tr *tar.Reader, h *tar.Header, name string) error {
	if u.info == nil {
		return u.descriptor(tr, h, name)
	}
	if !u.wanted(name) {
		return nil // the manifest, a certificate, anything the OVF does not name
	}
	if u.files[name] != nil {
		return faultf(ErrUnsafe, "OVA has two entries named %s", quoteShort(name))
	}
	if limit := u.s.diskFileCap(FormatVMDK); h.Size > limit {
		return faultf(ErrUnsafe, "OVA disk %s is %d bytes, over the cap of %d", quoteShort(name), h.Size, limit)
	}
	k, err := u.s.newSink(u.dir, "ova-disk", h.Size, nil)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(k, tr, h.Size); err != nil {
		k.discard()
		return u.readErr(fmt.Errorf("copy OVA disk %s: %w", quoteShort(name), err))
	}
	st, err := k.finish(fileDisk)
	if err != nil {
		return err
	}
	u.files[name] = st
	return nil
}

// descriptor reads the first entry, which must be the OVF descriptor.
func (u *ovaUnpacker) descriptor(tr *tar.Reader, h *tar.Header, name string) error {
	if !strings.HasSuffix(strings.ToLower(name), ".ovf") {
		return faultf(ErrUnsafe, "the first entry of an OVA must be its .ovf descriptor, not %s", quoteShort(name))
	}
	if h.Size > maxOVFSize {
		return faultf(ErrUnsafe, "OVF descriptor is %d bytes, the limit is %d", h.Size, maxOVFSize)
	}
	data, err := io.ReadAll(io.LimitReader(tr, maxOVFSize))
	if err != nil {
		return u.readErr(fmt.Errorf("read OVF descriptor: %w", err))
	}
	info, err := parseOVF(data)
	if err != nil {
		return err
	}
	u.info = info
	return nil
}

func (u *ovaUnpacker) wanted(name string) bool {
	for _, d := range u.info.Disks {
		if d.Href == name {
			return true
		}
	}
	return false
}

// disks lists the copies in the OVF's disk order; every disk must have been found.
func (u *ovaUnpacker) disks() ([]*disk, error) {
	var out []*disk
	for _, d := range u.info.Disks {
		st := u.files[d.Href]
		if st == nil {
			return nil, faultf(ErrUnsafe, "OVA lacks the disk file %s that its OVF names", quoteShort(d.Href))
		}
		out = append(out, &disk{file: st, format: d.Format})
	}
	return out, nil
}

// readErr classifies a failure to read the archive: the context's end and a full disk keep their
// meaning; anything else is a malformed archive.
func (u *ovaUnpacker) readErr(err error) error {
	var fe *fault.Error
	switch {
	case u.ctx.Err() != nil:
		return fmt.Errorf("%w: %w", err, u.ctx.Err())
	case errors.As(err, &fe):
		return err
	}
	return faultf(ErrUnsafe, "OVA is not a valid tar archive: %v", err)
}

func (u *ovaUnpacker) removeAll() {
	for _, st := range u.files {
		os.Remove(st.tmp)
	}
}

// ovaEntryName checks one tar header: a regular file with a plain name in the archive's top
// directory (a leading "./" is allowed). Links, directories, devices and paths are refused: an
// OVA is never extracted by its names, but a name that tries to escape is a hostile archive.
func ovaEntryName(h *tar.Header) (string, error) {
	if h.Typeflag != tar.TypeReg && h.Typeflag != '\x00' {
		return "", faultf(ErrUnsafe, "OVA entry %s is not a regular file (tar type %q): links, directories and devices are refused",
			quoteShort(h.Name), string(h.Typeflag))
	}
	name := strings.TrimPrefix(h.Name, "./")
	if err := checkMemberName(name); err != nil {
		return "", fmt.Errorf("OVA entry %w", err)
	}
	return name, nil
}

// checkMemberName checks a file name inside an OVA, from a tar header or an OVF href.
func checkMemberName(name string) error {
	switch {
	case name == "" || name == ".":
		return faultf(ErrUnsafe, "%s has no name", quoteShort(name))
	case len(name) > 255 || !printable(name):
		return faultf(ErrUnsafe, "%s is not a printable name of at most 255 bytes", quoteShort(name))
	case strings.Contains(name, "://"):
		return faultf(ErrUnsafe, "%s is a URL: an OVA must carry its own files", quoteShort(name))
	case strings.HasPrefix(name, "/"):
		return faultf(ErrUnsafe, "%s is an absolute path (path traversal)", quoteShort(name))
	case name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "/../") || strings.HasSuffix(name, "/.."):
		return faultf(ErrUnsafe, "%s climbs out of the archive (path traversal)", quoteShort(name))
	case strings.ContainsAny(name, "/\\"):
		return faultf(ErrUnsafe, "%s is in a subdirectory: OVA files must sit at the top of the archive", quoteShort(name))
	}
	return nil
}
