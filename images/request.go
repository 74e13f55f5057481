package images

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"cloudlet/store"
)

// ImportFileRequest imports an image from files on the host. It names host paths, so the API
// offers it to admins only.
type ImportFileRequest struct {
	ProjectID  string // owner
	Name       string // store.ValidateName
	Path       string // absolute path of the disk file
	DiskFormat string // FormatQcow2 or FormatRaw; required, never guessed from the bytes
	KernelPath string // optional absolute path of a kernel for direct boot
	InitrdPath string // optional, only with KernelPath
	Cmdline    string // optional, only with KernelPath; at most MaxCmdlineLen bytes, no control characters
	Firmware   string // FirmwareBIOS (default) or FirmwareUEFI
	Visibility string // VisibilityPrivate (default) or VisibilityPublic
	MinDiskGiB int    // 0..MaxMinDiskGiB
	MinRAMMiB  int    // 0..MaxMinRAMMiB
	Protected  bool
	Properties map[string]string // at most MaxProperties; keys and values bounded, see validProperty
}

// Bounds on request fields.
const (
	MaxCmdlineLen       = 1024
	MaxMinDiskGiB       = 64 << 10 // 64 TiB
	MaxMinRAMMiB        = 4 << 20  // 4 TiB
	MaxProperties       = 128      // Glance's default image_property_quota
	MaxPropertyKeyLen   = 255
	MaxPropertyValueLen = 255
)

// normalize fills the defaults of optional fields.
func (r *ImportFileRequest) normalize() {
	if r.Firmware == "" {
		r.Firmware = FirmwareBIOS
	}
	if r.Visibility == "" {
		r.Visibility = VisibilityPrivate
	}
}

// validate checks every field that can be checked without touching a file.
func (r *ImportFileRequest) validate() error {
	if r.ProjectID == "" {
		return faultf(ErrInvalid, "import image: a project is required")
	}
	if err := store.ValidateName(r.Name); err != nil {
		return fmt.Errorf("import image: %w", err)
	}
	checks := []func() error{r.validateFormats, r.validatePaths, r.validateCmdline, r.validateMinimums, r.validateProperties}
	for _, check := range checks {
		if err := check(); err != nil {
			return fmt.Errorf("import image %s: %w", r.Name, err)
		}
	}
	return nil
}

func (r *ImportFileRequest) validateFormats() error {
	if err := oneOf("disk format", r.DiskFormat, diskFormats); err != nil {
		return err
	}
	if err := oneOf("firmware", r.Firmware, firmwares); err != nil {
		return err
	}
	return oneOf("visibility", r.Visibility, visibilities)
}

func (r *ImportFileRequest) validatePaths() error {
	if r.Path == "" {
		return faultf(ErrInvalid, "a disk file path is required")
	}
	for _, p := range []string{r.Path, r.KernelPath, r.InitrdPath} {
		if p != "" && !filepath.IsAbs(p) {
			return faultf(ErrInvalid, "path %s is not absolute", quoteShort(p))
		}
	}
	if r.KernelPath == "" && r.InitrdPath != "" {
		return faultf(ErrInvalid, "an initrd needs a kernel")
	}
	return nil
}

func (r *ImportFileRequest) validateCmdline() error {
	if r.Cmdline == "" {
		return nil
	}
	if r.KernelPath == "" {
		return faultf(ErrInvalid, "a kernel command line needs a kernel")
	}
	if len(r.Cmdline) > MaxCmdlineLen {
		return faultf(ErrInvalid, "kernel command line is %d bytes, the limit is %d", len(r.Cmdline), MaxCmdlineLen)
	}
	if !printable(r.Cmdline) {
		return faultf(ErrInvalid, "kernel command line must be UTF-8 without control characters (newline, NUL, ...)")
	}
	return nil
}

func (r *ImportFileRequest) validateMinimums() error {
	if r.MinDiskGiB < 0 || r.MinDiskGiB > MaxMinDiskGiB {
		return faultf(ErrInvalid, "min disk %d GiB is outside 0..%d", r.MinDiskGiB, MaxMinDiskGiB)
	}
	if r.MinRAMMiB < 0 || r.MinRAMMiB > MaxMinRAMMiB {
		return faultf(ErrInvalid, "min RAM %d MiB is outside 0..%d", r.MinRAMMiB, MaxMinRAMMiB)
	}
	return nil
}

func (r *ImportFileRequest) validateProperties() error {
	if len(r.Properties) > MaxProperties {
		return faultf(ErrInvalid, "%d properties, the limit is %d", len(r.Properties), MaxProperties)
	}
	for k, v := range r.Properties {
		if !validPropertyKey(k) {
			return faultf(ErrInvalid, "property key %s must be 1..%d characters of a-z A-Z 0-9 _ . : -",
				quoteShort(k), MaxPropertyKeyLen)
		}
		if len(v) > MaxPropertyValueLen || !printable(v) {
			return faultf(ErrInvalid, "property %s: value must be at most %d bytes of UTF-8 without control characters",
				k, MaxPropertyValueLen)
		}
	}
	return nil
}

// oneOf checks v against an allow-list and names the allowed values when it is not on it.
func oneOf(what, v string, allowed []string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return faultf(ErrInvalid, "%s %s is not supported: use one of %s", what, quoteShort(v), strings.Join(allowed, ", "))
}

func validPropertyKey(k string) bool {
	if k == "" || len(k) > MaxPropertyKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.:-", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return false
		}
	}
	return true
}
