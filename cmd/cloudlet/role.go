package main

import (
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"cloudlet/appliance/identity"
)

var roleHeader = []string{"USER", "PROJECT", "ROLE"}

func roleRow(r *identity.RoleAssignment) []string { return []string{r.UserID, r.ProjectID, r.Role} }

func newRoleCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "role", Short: fmt.Sprintf("role assignments: a user's role (%v) on a project", identity.Roles())}
	cmd.AddCommand(newRoleChangeCmd(g, "add", "PUT", "give a user a role on a project"),
		newRoleChangeCmd(g, "remove", "DELETE", "take a role on a project from a user"),
		newRoleListCmd(g))
	return cmd
}

func newRoleChangeCmd(g *globals, verb, method, short string) *cobra.Command {
	var user, project string
	cmd := &cobra.Command{Use: verb + " ROLE --user USER --project PROJECT", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			path := "/api/v1/projects/" + url.PathEscape(project) + "/users/" + url.PathEscape(user) +
				"/roles/" + url.PathEscape(a[0])
			return g.call(method, path, nil, nil)
		}}
	cmd.Flags().StringVar(&user, "user", "", "user name or ID")
	cmd.Flags().StringVar(&project, "project", "", "project name or ID")
	_ = cmd.MarkFlagRequired("user")
	_ = cmd.MarkFlagRequired("project")
	return cmd
}

func newRoleListCmd(g *globals) *cobra.Command {
	var user, project string
	cmd := &cobra.Command{Use: "list [--user USER] [--project PROJECT]", Short: "list role assignments", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			q := url.Values{}
			if user != "" {
				q.Set("user", user)
			}
			if project != "" {
				q.Set("project", project)
			}
			path := "/api/v1/role-assignments"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			return listResource(g, path, roleHeader, roleRow)
		}}
	cmd.Flags().StringVar(&user, "user", "", "only this user's (name or ID)")
	cmd.Flags().StringVar(&project, "project", "", "only on this project (name or ID)")
	return cmd
}
