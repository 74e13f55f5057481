package identity

import (
	"context"
	"fmt"

	"cloudlet/appliance/fault"
	"cloudlet/store"
)

// maxDescriptionLen bounds free-text descriptions.
const maxDescriptionLen = 1024

// CreateProject makes an enabled project. Nobody has a role on it yet: see Assign.
func (s *Service) CreateProject(ctx context.Context, name, description string) (Project, error) {
	if len(description) > maxDescriptionLen {
		return Project{}, faultf(ErrInvalid, "create project %s: description longer than %d bytes", quoteShort(name), maxDescriptionLen)
	}
	if name == "" {
		return Project{}, faultf(ErrInvalid, "create project: a name is required")
	}
	p := &Project{Meta: store.Meta{Name: name}, Description: description, Enabled: true}
	err := s.db.Update(func(tx *store.Tx) error {
		if err := projects.Create(tx, p); err != nil {
			return err
		}
		return appendEvent(tx, "project.created", "project", p.ID, p.ID, nil)
	})
	if err != nil {
		return Project{}, fmt.Errorf("create project %s: %w", quoteShort(name), err)
	}
	return *p, nil
}

// Projects lists every project, by name.
func (s *Service) Projects(ctx context.Context) ([]Project, error) {
	out := []Project{}
	err := s.db.View(func(tx *store.Tx) error {
		ps, err := projects.List(tx, "")
		for _, p := range ps {
			out = append(out, *p)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return out, nil
}

// Project returns a project by ID or name.
func (s *Service) Project(ctx context.Context, ref string) (Project, error) {
	var out Project
	err := s.db.View(func(tx *store.Tx) error {
		p, err := projects.Lookup(tx, "", ref)
		if err == nil {
			out = *p
		}
		return err
	})
	if err != nil {
		return Project{}, fmt.Errorf("get project: %w", err)
	}
	return out, nil
}

// ProjectUpdate changes a project; nil fields stay as they are.
type ProjectUpdate struct {
	Description *string
	Enabled     *bool
}

// UpdateProject changes a project. Disabling it revokes the tokens and application credentials
// scoped to it for good (revoke.go); project admin cannot be disabled.
func (s *Service) UpdateProject(ctx context.Context, ref string, u ProjectUpdate) (Project, error) {
	if u.Description != nil && len(*u.Description) > maxDescriptionLen {
		return Project{}, faultf(ErrInvalid, "update project %s: description longer than %d bytes", quoteShort(ref), maxDescriptionLen)
	}
	var out Project
	err := s.db.Update(func(tx *store.Tx) error {
		p, err := projects.Lookup(tx, "", ref)
		if err != nil {
			return err
		}
		if u.Description != nil {
			p.Description = *u.Description
		}
		if u.Enabled != nil && !*u.Enabled && p.Enabled {
			if p.Name == AdminName {
				return faultf(ErrForbidden, "project %s cannot be disabled", AdminName)
			}
			if err := revokeProject(tx, p.ID); err != nil {
				return err
			}
		}
		if u.Enabled != nil {
			p.Enabled = *u.Enabled
		}
		if err := projects.Update(tx, p); err != nil {
			return err
		}
		out = *p
		return appendEvent(tx, "project.updated", "project", p.ID, p.ID, nil)
	})
	if err != nil {
		return Project{}, fmt.Errorf("update project %s: %w", quoteShort(ref), err)
	}
	return out, nil
}

// DeleteProject deletes a project that owns nothing in other services (Options.ProjectInUse),
// with its quota overrides, role assignments, tokens and application credentials; users whose
// default project it was lose their default. Project admin cannot be deleted. The check and the
// deletion are two steps: a resource created between them is left to the catalog check.
func (s *Service) DeleteProject(ctx context.Context, ref string) error {
	p, err := s.Project(ctx, ref)
	if err != nil {
		return fmt.Errorf("delete project: %w", err)
	}
	if p.Name == AdminName {
		return faultf(ErrForbidden, "delete project %s: it is protected", AdminName)
	}
	if s.projectInUse != nil {
		if err := s.projectInUse(ctx, p.ID); err != nil {
			if fault.KindOf(err) == fault.Conflict {
				return faultf(ErrConflict, "delete project %s: %v", p.Name, err)
			}
			return fmt.Errorf("delete project %s: check its resources: %w", p.Name, err)
		}
	}
	err = s.db.Update(func(tx *store.Tx) error {
		if err := deleteProjectRecords(tx, p.ID); err != nil {
			return err
		}
		if err := projects.Delete(tx, p.ID); err != nil {
			return err
		}
		return appendEvent(tx, "project.deleted", "project", p.ID, p.ID, nil)
	})
	if err != nil {
		return fmt.Errorf("delete project %s: %w", p.Name, err)
	}
	return nil
}

// deleteProjectRecords deletes what identity keeps of a project, other than the project itself.
func deleteProjectRecords(tx *store.Tx, projectID string) error {
	if err := deleteQuotas(tx, projectID); err != nil {
		return err
	}
	ras, err := assignments.List(tx, projectID)
	if err != nil {
		return err
	}
	for _, ra := range ras {
		if err := assignments.Delete(tx, ra.ID); err != nil {
			return err
		}
	}
	if err := revokeTokens(tx, "", projectID); err != nil {
		return err
	}
	cs, err := credentials.List(tx, projectID)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if err := credentials.Delete(tx, c.ID); err != nil {
			return err
		}
	}
	return users.ForEach(tx, func(u *userRecord) error {
		if u.DefaultProjectID != projectID {
			return nil
		}
		u.DefaultProjectID = ""
		return users.Update(tx, u)
	})
}
