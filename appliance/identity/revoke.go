package identity

import (
	"slices"

	"cloudlet/store"
)

// What a change takes away stays away (Keystone's revocation events): a token or an application
// credential that a role removal or a disable invalidates is deleted in the same transaction as the
// change, so re-adding the role or re-enabling the user or project later brings back nothing, and
// no request can see the change without the revocation. The holder logs in again, or makes a new
// key. A password change or reset revokes the user's tokens; its keys stay (they never held the
// password).
//
//	change                        tokens revoked                 credentials revoked
//	role removed on a project     the user's on that project     the user's there carrying the role
//	admin role removed (global)   all of the user's              all of the user's carrying admin
//	user disabled                 all of the user's              all of the user's
//	project disabled              all scoped to it               all scoped to it
//	password changed or reset     all of the user's              none

// revokeForUnassign revokes what relied on role, just taken from userID on projectID.
func revokeForUnassign(tx *store.Tx, userID, projectID, role string) error {
	global := role == RoleAdmin // held on project admin, used in every project
	err := deleteTokens(tx, func(t *tokenRecord) bool {
		return t.UserID == userID && (global || t.ProjectID == projectID)
	})
	if err != nil {
		return err
	}
	return deleteCredentials(tx, func(c *credentialRecord) bool {
		return c.UserID == userID && (global || c.ProjectID == projectID) && slices.Contains(c.Roles, role)
	})
}

// revokeUser revokes every token and credential of a user being disabled.
func revokeUser(tx *store.Tx, userID string) error {
	if err := deleteTokens(tx, func(t *tokenRecord) bool { return t.UserID == userID }); err != nil {
		return err
	}
	return deleteCredentials(tx, func(c *credentialRecord) bool { return c.UserID == userID })
}

// revokeProject revokes every token and credential scoped to a project being disabled.
func revokeProject(tx *store.Tx, projectID string) error {
	if err := deleteTokens(tx, func(t *tokenRecord) bool { return t.ProjectID == projectID }); err != nil {
		return err
	}
	return deleteCredentials(tx, func(c *credentialRecord) bool { return c.ProjectID == projectID })
}

func deleteTokens(tx *store.Tx, match func(*tokenRecord) bool) error {
	return tokens.ForEach(tx, func(t *tokenRecord) error {
		if match(t) {
			return tokens.Delete(tx, t.ID)
		}
		return nil
	})
}

func deleteCredentials(tx *store.Tx, match func(*credentialRecord) bool) error {
	return credentials.ForEach(tx, func(c *credentialRecord) error {
		if match(c) {
			return credentials.Delete(tx, c.ID)
		}
		return nil
	})
}
