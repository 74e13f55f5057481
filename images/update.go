package images

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"cloudlet/store"
)

// UpdateRequest changes attributes of an image; nil fields stay as they are. Making an image public
// is the admins' alone: the web layer checks image:publicize before it asks.
type UpdateRequest struct {
	Visibility *string // VisibilityPrivate, VisibilityShared or VisibilityPublic; members are kept
	Protected  *bool
	MinDiskGiB *int
	MinRAMMiB  *int
	Name       *string            // a new name, free in the project (store.ValidateName)
	Properties map[string]*string // sets each key to its value; a nil value removes the key
	Tags       *[]string          // replaces the tags (CreateRequest's bounds; repeats are dropped)
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
		if r.Name != nil {
			img.Name = *r.Name
		}
		if r.Tags != nil {
			img.Tags = slices.Clone(*r.Tags)
		}
		return r.applyProperties(img)
	})
}

// validate checks the fields that are set, with CreateRequest's bounds.
func (r UpdateRequest) validate() error {
	if r.Visibility == nil && r.Protected == nil && r.MinDiskGiB == nil && r.MinRAMMiB == nil && r.Name == nil &&
		len(r.Properties) == 0 && r.Tags == nil {
		return faultf(ErrInvalid, "nothing to change: give name, visibility, protected, min_disk_gib, min_ram_mib, properties or tags")
	}
	if r.Tags != nil {
		tags, err := normalizeTags(*r.Tags)
		if err != nil {
			return err
		}
		*r.Tags = tags
	}
	if r.Name != nil {
		if err := store.ValidateName(*r.Name); err != nil {
			return err
		}
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

// applyProperties sets and removes img's properties as r says, within CreateRequest's bounds.
func (r UpdateRequest) applyProperties(img *Image) error {
	if len(r.Properties) == 0 {
		return nil
	}
	props := maps.Clone(img.Properties)
	if props == nil {
		props = map[string]string{}
	}
	for k, v := range r.Properties {
		if v == nil {
			delete(props, k)
		} else {
			props[k] = *v
		}
	}
	c := CreateRequest{Properties: props}
	if err := c.validateProperties(); err != nil {
		return fmt.Errorf("update image %s: %w", img.Name, err)
	}
	if len(props) == 0 {
		props = nil
	}
	img.Properties = props
	return nil
}
