package images

import (
	"context"
	"slices"

	"cloudlet/store"
)

// MaxMembers bounds the projects an image is shared with.
const MaxMembers = 256

// AddMember shares one of projectID's images with another project, which can then see, download
// and boot it (but not change or delete it). A private image becomes shared; a public one is
// visible to everyone already (ErrInvalidState). Adding a member twice is not an error.
func (s *Service) AddMember(ctx context.Context, projectID, idOrName, member string) (*Image, error) {
	if err := validMember(member); err != nil {
		return nil, err
	}
	return s.changeMembers(projectID, idOrName, "share it", func(img *Image) error {
		switch {
		case img.Visibility == VisibilityPublic:
			return faultf(ErrInvalidState, "image %s is public: every project sees it already", img.Name)
		case member == img.ProjectID:
			return faultf(ErrInvalid, "image %s belongs to project %s already", img.Name, member)
		case slices.Contains(img.Members, member):
			return nil
		case len(img.Members) >= MaxMembers:
			return faultf(ErrInvalid, "image %s is shared with %d projects, the limit", img.Name, MaxMembers)
		}
		img.Visibility = VisibilityShared
		img.Members = append(img.Members, member)
		slices.Sort(img.Members)
		return nil
	})
}

// RemoveMember stops sharing one of projectID's images with member; from then on member sees it
// as missing. Instances and volumes member already made from it are not touched. Removing a
// project that is not a member is ErrNotFound.
func (s *Service) RemoveMember(ctx context.Context, projectID, idOrName, member string) (*Image, error) {
	return s.changeMembers(projectID, idOrName, "unshare it", func(img *Image) error {
		i := slices.Index(img.Members, member)
		if i < 0 {
			return faultf(ErrNotFound, "image %s is not shared with project %s", img.Name, quoteShort(member))
		}
		img.Members = slices.Delete(img.Members, i, i+1)
		return nil
	})
}

// changeMembers applies change to an image projectID owns, in one transaction.
func (s *Service) changeMembers(projectID, idOrName, action string, change func(*Image) error) (*Image, error) {
	var out *Image
	err := s.db.Update(func(tx *store.Tx) error {
		img, err := findOwned(tx, projectID, idOrName, action)
		if err != nil {
			return err
		}
		if err := change(img); err != nil {
			return err
		}
		out = img
		return imageRecords.Update(tx, img)
	})
	return out, err
}

// validMember accepts a project reference as the catalog stores it: an ID or a valid name.
func validMember(p string) error {
	if store.IsID(p) || store.ValidateName(p) == nil {
		return nil
	}
	return faultf(ErrInvalid, "project %s is not a valid project ID or name", quoteShort(p))
}
