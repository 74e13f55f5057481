package identity

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"cloudlet/store"
)

// Assign gives a user (ID or name) a role on a project (ID or name). Assigning a role the user
// already holds there returns the existing assignment. The admin role is global: it may only be
// assigned on project admin, and then applies in every project.
func (s *Service) Assign(ctx context.Context, userRef, projectRef, role string) (RoleAssignment, error) {
	if err := checkRole(role); err != nil {
		return RoleAssignment{}, err
	}
	var out RoleAssignment
	err := s.db.Update(func(tx *store.Tx) error {
		u, p, err := lookupUserProject(tx, userRef, projectRef)
		if err != nil {
			return err
		}
		if role == RoleAdmin && p.Name != AdminName {
			return faultf(ErrInvalid, "role admin is global: assign it on project %s, not %s", AdminName, p.Name)
		}
		ra, err := findAssignment(tx, u.ID, p.ID, role)
		switch {
		case err == nil:
			out = *ra
			return nil
		case !errors.Is(err, ErrNotFound):
			return err
		}
		ra = &RoleAssignment{Meta: store.Meta{ProjectID: p.ID}, UserID: u.ID, Role: role}
		if err := assignments.Create(tx, ra); err != nil {
			return err
		}
		out = *ra
		return appendEvent(tx, "role.assigned", "role_assignment", ra.ID, p.ID, assignmentEvent{u.ID, role})
	})
	if err != nil {
		return RoleAssignment{}, fmt.Errorf("assign role %s to user %s on project %s: %w", role, quoteShort(userRef), quoteShort(projectRef), err)
	}
	return out, nil
}

type assignmentEvent struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

// Unassign takes a role on a project away from a user and, in the same transaction, revokes the
// user's tokens there and its credentials carrying the role (revoke.go): assigning the role again
// does not bring them back. User admin's admin role is protected.
func (s *Service) Unassign(ctx context.Context, userRef, projectRef, role string) error {
	if err := checkRole(role); err != nil {
		return err
	}
	err := s.db.Update(func(tx *store.Tx) error {
		u, p, err := lookupUserProject(tx, userRef, projectRef)
		if err != nil {
			return err
		}
		if u.Name == AdminName && p.Name == AdminName && role == RoleAdmin {
			return faultf(ErrForbidden, "user %s keeps role %s on project %s: it is the way back in", AdminName, RoleAdmin, AdminName)
		}
		ra, err := findAssignment(tx, u.ID, p.ID, role)
		if err != nil {
			return err
		}
		if err := assignments.Delete(tx, ra.ID); err != nil {
			return err
		}
		if err := revokeForUnassign(tx, u.ID, p.ID, role); err != nil {
			return err
		}
		return appendEvent(tx, "role.unassigned", "role_assignment", ra.ID, p.ID, assignmentEvent{u.ID, role})
	})
	if err != nil {
		return fmt.Errorf("unassign role %s from user %s on project %s: %w", role, quoteShort(userRef), quoteShort(projectRef), err)
	}
	return nil
}

// RoleAssignments lists the assignments of a user and/or on a project (IDs or names; "" for any),
// ordered by project, user and role.
func (s *Service) RoleAssignments(ctx context.Context, userRef, projectRef string) ([]RoleAssignment, error) {
	out := []RoleAssignment{}
	err := s.db.View(func(tx *store.Tx) error {
		var userID, projectID string
		if userRef != "" {
			u, err := users.Lookup(tx, "", userRef)
			if err != nil {
				return err
			}
			userID = u.ID
		}
		if projectRef != "" {
			p, err := projects.Lookup(tx, "", projectRef)
			if err != nil {
				return err
			}
			projectID = p.ID
		}
		ras, err := assignments.List(tx, projectID)
		for _, ra := range ras {
			if userID == "" || ra.UserID == userID {
				out = append(out, *ra)
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list role assignments: %w", err)
	}
	slices.SortFunc(out, func(a, b RoleAssignment) int {
		return cmp.Or(cmp.Compare(a.ProjectID, b.ProjectID), cmp.Compare(a.UserID, b.UserID),
			cmp.Compare(roleRank(a.Role), roleRank(b.Role)))
	})
	return out, nil
}

func checkRole(role string) error {
	if roleRank(role) < 0 {
		return faultf(ErrInvalid, "unknown role %s: want one of %v", quoteShort(role), Roles())
	}
	return nil
}

// roleRank orders roles most powerful first; -1 for an unknown role.
func roleRank(role string) int { return slices.Index(Roles(), role) }

func lookupUserProject(tx *store.Tx, userRef, projectRef string) (*userRecord, *Project, error) {
	u, err := users.Lookup(tx, "", userRef)
	if err != nil {
		return nil, nil, err
	}
	p, err := projects.Lookup(tx, "", projectRef)
	if err != nil {
		return nil, nil, err
	}
	return u, p, nil
}

// findAssignment returns the assignment of role to userID on projectID (ErrNotFound if none).
func findAssignment(tx *store.Tx, userID, projectID, role string) (*RoleAssignment, error) {
	ras, err := assignments.List(tx, projectID)
	if err != nil {
		return nil, err
	}
	for _, ra := range ras {
		if ra.UserID == userID && ra.Role == role {
			return ra, nil
		}
	}
	return nil, faultf(ErrNotFound, "no such role assignment")
}

// effectiveRoles returns the roles a user holds on a project, most powerful first: those assigned
// there, plus admin when the user is a (global) admin.
func effectiveRoles(tx *store.Tx, userID, projectID string) ([]string, error) {
	held := map[string]bool{}
	ras, err := assignments.List(tx, projectID)
	if err != nil {
		return nil, err
	}
	for _, ra := range ras {
		if ra.UserID == userID {
			held[ra.Role] = true
		}
	}
	if !held[RoleAdmin] {
		admin, err := isAdmin(tx, userID)
		if err != nil {
			return nil, err
		}
		held[RoleAdmin] = admin
	}
	var roles []string
	for _, r := range Roles() {
		if held[r] {
			roles = append(roles, r)
		}
	}
	return roles, nil
}

// isAdmin reports whether the user holds the admin role, which lives on project admin.
func isAdmin(tx *store.Tx, userID string) (bool, error) {
	p, err := projects.Lookup(tx, "", AdminName)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = findAssignment(tx, userID, p.ID, RoleAdmin)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
