package images

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"cloudlet/store"
)

// CreateRequest creates an image record, queued for an Upload of its data. ImportURL and
// ImportFile take the same attributes.
type CreateRequest struct {
	ProjectID       string // owner
	Name            string // store.ValidateName
	DiskFormat      string // one of diskFormats; required (never guessed from the bytes), except with ContainerOVA
	ContainerFormat string // ContainerBare (default) or ContainerOVA
	Firmware        string // FirmwareBIOS (default) or FirmwareUEFI
	Visibility      string // VisibilityPrivate (default), VisibilityShared or VisibilityPublic
	MinDiskGiB      int    // 0..MaxMinDiskGiB
	MinRAMMiB       int    // 0..MaxMinRAMMiB
	Protected       bool
	Properties      map[string]string // at most MaxProperties; keys and values bounded, see validProperty
	Tags            []string          // at most MaxTags, each 1..MaxTagLen bytes; repeats are dropped
}

// ImportFileRequest imports an image from files on the host. It names host paths, so the API
// offers it to admins only.
type ImportFileRequest struct {
	ProjectID       string // owner
	Name            string // store.ValidateName
	Path            string // the disk file (or the OVA): relative to the import directory, or an absolute path inside it
	DiskFormat      string // as in CreateRequest
	ContainerFormat string // as in CreateRequest
	KernelPath      string // optional kernel for direct boot, named like Path
	InitrdPath      string // optional, only with KernelPath
	Cmdline         string // optional, only with KernelPath; at most MaxCmdlineLen bytes, no control characters
	Firmware        string // FirmwareBIOS (default) or FirmwareUEFI
	Visibility      string // VisibilityPrivate (default), VisibilityShared or VisibilityPublic
	MinDiskGiB      int    // 0..MaxMinDiskGiB
	MinRAMMiB       int    // 0..MaxMinRAMMiB
	Protected       bool
	Properties      map[string]string // at most MaxProperties; keys and values bounded, see validProperty
}

// Bounds on request fields.
const (
	MaxCmdlineLen       = 1024
	MaxPathLen          = 4095     // PATH_MAX less the NUL
	MaxMinDiskGiB       = 64 << 10 // 64 TiB
	MaxMinRAMMiB        = 4 << 20  // 4 TiB
	MaxProperties       = 128      // Glance's default image_property_quota
	MaxPropertyKeyLen   = 255
	MaxPropertyValueLen = 255
)

// normalize fills the defaults of optional fields.
func (r *CreateRequest) normalize() {
	if r.Firmware == "" {
		r.Firmware = FirmwareBIOS
	}
	if r.Visibility == "" {
		r.Visibility = VisibilityPrivate
	}
	if r.ContainerFormat == "" {
		r.ContainerFormat = ContainerBare
	}
	if r.ContainerFormat == ContainerOVA && r.DiskFormat == "" {
		r.DiskFormat = FormatVMDK
	}
}

// validate checks every field that can be checked without touching data; op names the operation
// in messages ("create image").
func (r *CreateRequest) validate(op string) error {
	if r.ProjectID == "" {
		return faultf(ErrInvalid, "%s: a project is required", op)
	}
	if err := store.ValidateName(r.Name); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	for _, check := range []func() error{r.validateFormats, r.validateMinimums, r.validateProperties, r.validateTags} {
		if err := check(); err != nil {
			return fmt.Errorf("%s %s: %w", op, r.Name, err)
		}
	}
	return nil
}

func (r *CreateRequest) validateFormats() error {
	if err := oneOf("disk format", r.DiskFormat, diskFormats); err != nil {
		return err
	}
	if err := oneOf("container format", r.ContainerFormat, containerFormats); err != nil {
		return err
	}
	if r.ContainerFormat == ContainerOVA && r.DiskFormat != FormatVMDK {
		return faultf(ErrInvalid, "an OVA holds VMDK disks: disk format %s does not fit container format ova", quoteShort(r.DiskFormat))
	}
	if err := oneOf("firmware", r.Firmware, firmwares); err != nil {
		return err
	}
	return oneOf("visibility", r.Visibility, visibilities)
}

func (r *CreateRequest) validateMinimums() error {
	if r.MinDiskGiB < 0 || r.MinDiskGiB > MaxMinDiskGiB {
		return faultf(ErrInvalid, "min disk %d GiB is outside 0..%d", r.MinDiskGiB, MaxMinDiskGiB)
	}
	if r.MinRAMMiB < 0 || r.MinRAMMiB > MaxMinRAMMiB {
		return faultf(ErrInvalid, "min RAM %d MiB is outside 0..%d", r.MinRAMMiB, MaxMinRAMMiB)
	}
	return nil
}

// validateTags checks the tags and drops their repeats.
func (r *CreateRequest) validateTags() (err error) {
	r.Tags, err = normalizeTags(r.Tags)
	return err
}

func (r *CreateRequest) validateProperties() error {
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

// record is the queued record of a request.
func (r *CreateRequest) record(source string) *Image {
	return &Image{
		Meta:            store.Meta{Name: r.Name, ProjectID: r.ProjectID},
		Status:          StatusQueued,
		DiskFormat:      r.DiskFormat,
		ContainerFormat: r.ContainerFormat,
		MinDiskGiB:      r.MinDiskGiB,
		MinRAMMiB:       r.MinRAMMiB,
		Visibility:      r.Visibility,
		Protected:       r.Protected,
		Firmware:        r.Firmware,
		Properties:      maps.Clone(r.Properties),
		Tags:            slices.Clone(r.Tags),
		Source:          source,
	}
}

// create is the part of r that every way of making an image shares.
func (r *ImportFileRequest) create() CreateRequest {
	return CreateRequest{
		ProjectID: r.ProjectID, Name: r.Name, DiskFormat: r.DiskFormat, ContainerFormat: r.ContainerFormat,
		Firmware: r.Firmware, Visibility: r.Visibility, MinDiskGiB: r.MinDiskGiB, MinRAMMiB: r.MinRAMMiB,
		Protected: r.Protected, Properties: r.Properties,
	}
}

// normalize fills the defaults of optional fields.
func (r *ImportFileRequest) normalize() {
	c := r.create()
	c.normalize()
	r.DiskFormat, r.ContainerFormat, r.Firmware, r.Visibility = c.DiskFormat, c.ContainerFormat, c.Firmware, c.Visibility
}

// validate checks every field that can be checked without touching a file.
func (r *ImportFileRequest) validate() error {
	c := r.create()
	if err := c.validate("import image"); err != nil {
		return err
	}
	for _, check := range []func() error{r.validatePaths, r.validateCmdline} {
		if err := check(); err != nil {
			return fmt.Errorf("import image %s: %w", r.Name, err)
		}
	}
	if r.KernelPath != "" && c.ContainerFormat == ContainerOVA {
		return faultf(ErrInvalid, "import image %s: an OVA cannot have a kernel for direct boot", r.Name)
	}
	return nil
}

func (r *ImportFileRequest) validatePaths() error {
	if r.Path == "" {
		return faultf(ErrInvalid, "a disk file path is required")
	}
	for _, p := range []string{r.Path, r.KernelPath, r.InitrdPath} {
		if len(p) > MaxPathLen || !printable(p) {
			return faultf(ErrInvalid, "path %s must be at most %d printable characters", quoteShort(p), MaxPathLen)
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
