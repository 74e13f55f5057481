package images

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// MaxMembers bounds the projects an image is shared with.
const MaxMembers = 256

// Member is one project an image is shared with, and what that project made of it (Glance's image
// members): pending until the recipient accepts or rejects it. A pending or rejected image can be
// used by its ID, but only an accepted one is listed and found by name.
type Member struct {
	ProjectID string `json:"project_id"`
	Status    string `json:"status"` // MemberPending, MemberAccepted or MemberRejected
}

// Member statuses, as Glance names them.
const (
	MemberPending  = "pending"
	MemberAccepted = "accepted"
	MemberRejected = "rejected"
)

var memberStatuses = []string{MemberPending, MemberAccepted, MemberRejected}

// UnmarshalJSON reads a member as stored now, or as stored before members had a status: a bare
// project reference, shared without an accept step, so it counts as accepted.
func (m *Member) UnmarshalJSON(b []byte) error {
	var legacy string
	if json.Unmarshal(b, &legacy) == nil {
		*m = Member{ProjectID: legacy, Status: MemberAccepted}
		return nil
	}
	type plain Member
	return json.Unmarshal(b, (*plain)(m))
}

// memberOf returns projectID's membership of img, or nil.
func memberOf(img *Image, projectID string) *Member {
	i := slices.IndexFunc(img.Members, func(m Member) bool { return m.ProjectID == projectID })
	if i < 0 {
		return nil
	}
	return &img.Members[i]
}

// AddMember shares one of projectID's images with another project, named by ID or name (resolved
// with Options.ResolveProject: an unknown project is ErrNotFound). The recipient's membership is
// pending until it accepts. A private image becomes shared; a public one is visible to everyone
// already (ErrInvalidState). Adding a member twice is not an error and keeps its status.
func (s *Service) AddMember(ctx context.Context, projectID, idOrName, member string) (*Image, error) {
	memberID, err := s.resolveProject(ctx, member)
	if err != nil {
		return nil, err
	}
	return s.changeMembers(projectID, idOrName, "share it", func(img *Image) error {
		switch {
		case img.Visibility == VisibilityPublic:
			return faultf(ErrInvalidState, "image %s is public: every project sees it already", img.Name)
		case memberID == img.ProjectID:
			return faultf(ErrInvalid, "image %s belongs to project %s already", img.Name, quoteShort(member))
		case memberOf(img, memberID) != nil:
			return nil
		case len(img.Members) >= MaxMembers:
			return faultf(ErrInvalid, "image %s is shared with %d projects, the limit", img.Name, MaxMembers)
		}
		img.Visibility = VisibilityShared
		img.Members = append(img.Members, Member{ProjectID: memberID, Status: MemberPending})
		slices.SortFunc(img.Members, func(a, b Member) int { return cmp.Compare(a.ProjectID, b.ProjectID) })
		return nil
	})
}

// RemoveMember stops sharing one of projectID's images with member (by ID or name); from then on
// member sees it as missing. Instances and volumes member already made from it are not touched.
// Removing a project that is not a member is ErrNotFound.
func (s *Service) RemoveMember(ctx context.Context, projectID, idOrName, member string) (*Image, error) {
	memberID := member
	if resolved, err := s.resolveProject(ctx, member); err == nil {
		memberID = resolved
	}
	return s.changeMembers(projectID, idOrName, "unshare it", func(img *Image) error {
		i := slices.IndexFunc(img.Members, func(m Member) bool { return m.ProjectID == memberID || m.ProjectID == member })
		if i < 0 {
			return faultf(ErrNotFound, "image %s is not shared with project %s", img.Name, quoteShort(member))
		}
		img.Members = slices.Delete(img.Members, i, i+1)
		return nil
	})
}

// Members lists who an image is shared with: every member for its owner, only its own membership
// for a recipient (pending, accepted or rejected alike).
func (s *Service) Members(ctx context.Context, projectID, idOrName string) ([]Member, error) {
	img, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return nil, err
	}
	return append([]Member{}, img.Members...), nil
}

// SetMemberStatus is the recipient's answer to a share: projectID accepts, rejects (or sets back to
// pending) its membership of an image shared with it, named by ID, or by name among the images
// shared with it. member must name projectID itself: the owner cannot accept for its recipients
// (ErrNotOwner, forbidden). A rejected image leaves the recipient's list but stays usable by ID.
func (s *Service) SetMemberStatus(ctx context.Context, projectID, idOrName, member, status string) (*Member, error) {
	if err := oneOf("member status", status, memberStatuses); err != nil {
		return nil, err
	}
	memberID, err := s.resolveProject(ctx, member)
	if err != nil {
		return nil, err
	}
	if memberID != projectID {
		return nil, faultf(ErrNotOwner, "only project %s itself may accept or reject what is shared with it", quoteShort(member))
	}
	var out Member
	err = s.db.Update(func(tx *store.Tx) error {
		img, err := findShared(tx, projectID, idOrName)
		if err != nil {
			return err
		}
		m := memberOf(img, projectID)
		m.Status = status
		out = *m
		return imageRecords.Update(tx, img)
	})
	return &out, err
}

// findShared resolves idOrName among the images shared with projectID, whatever its answer so far.
func findShared(tx *store.Tx, projectID, idOrName string) (*Image, error) {
	if img, err := imageRecords.Get(tx, idOrName); err == nil && memberOf(img, projectID) != nil {
		return img, nil
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	matches, err := matching(tx, idOrName, func(img *Image) bool { return memberOf(img, projectID) != nil })
	return oneMatch(matches, idOrName, "shared", err)
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

// resolveProject turns a project reference into its ID with Options.ResolveProject; without one,
// a valid reference is taken as an ID.
func (s *Service) resolveProject(ctx context.Context, ref string) (string, error) {
	if !store.IsID(ref) && store.ValidateName(ref) != nil {
		return "", faultf(ErrInvalid, "project %s is not a valid project ID or name", quoteShort(ref))
	}
	if s.resolve == nil {
		return ref, nil
	}
	id, err := s.resolve(ctx, ref)
	if fault.KindOf(err) == fault.NotFound {
		return "", faultf(ErrNotFound, "project %s not found", quoteShort(ref))
	}
	if err != nil {
		return "", err
	}
	return id, nil
}
