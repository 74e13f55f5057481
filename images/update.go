package images

import (
	"context"
	"fmt"
)

// UpdateRequest changes attributes of an image; nil fields stay as they are. Making an image public
// is the admins' alone: the web layer checks image:publicize before it asks.
type UpdateRequest struct {
	Visibility *string // VisibilityPrivate, VisibilityShared or VisibilityPublic; members are kept
	Protected  *bool
	MinDiskGiB *int
	MinRAMMiB  *int
}

// Update changes one of projectID's images, in one transaction: only its owner may.
func (s *Service) Update(ctx context.Context, projectID, idOrName string, r UpdateRequest) (*Image, error) {
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("update image %s: %w", quoteShort(idOrName), err)
	}
	return s.changeMembers(projectID, idOrName, "change it", func(img *Image) error {
		if r.Visibility != nil {
			img.Visibility = *r.Visibility
		}
		if r.Protected != nil {
			img.Protected = *r.Protected
		}
		if r.MinDiskGiB != nil {
			img.MinDiskGiB = *r.MinDiskGiB
		}
		if r.MinRAMMiB != nil {
			img.MinRAMMiB = *r.MinRAMMiB
		}
		return nil
	})
}

// validate checks the fields that are set, with CreateRequest's bounds.
func (r UpdateRequest) validate() error {
	if r.Visibility == nil && r.Protected == nil && r.MinDiskGiB == nil && r.MinRAMMiB == nil {
		return faultf(ErrInvalid, "nothing to change: give visibility, protected, min_disk_gib or min_ram_mib")
	}
	if r.Visibility != nil {
		if err := oneOf("visibility", *r.Visibility, visibilities); err != nil {
			return err
		}
	}
	c := CreateRequest{}
	if r.MinDiskGiB != nil {
		c.MinDiskGiB = *r.MinDiskGiB
	}
	if r.MinRAMMiB != nil {
		c.MinRAMMiB = *r.MinRAMMiB
	}
	return c.validateMinimums()
}
