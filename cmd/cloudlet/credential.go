package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/appliance/identity"
)

const credentialsPath = "/api/v1/credentials"

var credentialHeader = []string{"ID", "NAME", "PROJECT", "ROLES", "ALLOWED ACTIONS", "EXPIRES"}

func credentialRow(c *identity.Credential) []string {
	actions := make([]string, len(c.AllowedActions))
	for i, a := range c.AllowedActions {
		actions[i] = string(a)
	}
	return []string{c.ID, c.Name, c.ProjectID, strings.Join(c.Roles, ","), strings.Join(actions, ","), when(c.ExpiresAt)}
}

func newCredentialCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "credential", Short: "application credentials: API keys for scripts, limited to a project, roles and actions"}
	cmd.AddCommand(newCredentialCreateCmd(g))
	cmd.AddCommand(crudCommands(g, "credential", credentialsPath, credentialHeader, credentialRow)...)
	return cmd
}

func newCredentialCreateCmd(g *globals) *cobra.Command {
	var description, project, expires string
	var roles, allow []string
	cmd := &cobra.Command{
		Use:   "create NAME --project P [--role R]... [--allow ACTION]... [--expires 720h|30d|RFC3339]",
		Short: "create an API key; its secret is printed once", Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			in := map[string]any{"name": a[0], "description": description, "project": project,
				"roles": roles, "allowed_actions": allow}
			if expires != "" {
				at, err := parseExpiry(expires, time.Now())
				if err != nil {
					return err
				}
				in["expires_at"] = at
			}
			var c identity.Credential
			raw, err := g.fetch("POST", credentialsPath, in, &c)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stderr, "The secret is shown once; it cannot be shown again. Send it as \"Authorization: Bearer SECRET\".")
			if g.output == "json" {
				return g.printJSON(raw)
			}
			if err := g.printTable(credentialHeader, [][]string{credentialRow(&c)}); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "secret: %s\n", c.Secret)
			return err
		}}
	f := cmd.Flags()
	f.StringVar(&description, "description", "", "what the credential is for")
	f.StringVar(&project, "project", "", "the project it acts in (name or ID)")
	f.StringArrayVar(&roles, "role", nil, "a role it has (repeatable; default: all your roles on the project)")
	f.StringArrayVar(&allow, "allow", nil, "a policy action it may do, e.g. instance:list (repeatable; default: what its roles allow)")
	f.StringVar(&expires, "expires", "", "when it stops working: a duration from now (720h, 30d) or an RFC 3339 time (default: never)")
	_ = cmd.MarkFlagRequired("project")
	return cmd
}

// parseExpiry reads "30d", a Go duration ("720h") or an RFC 3339 time into an absolute time.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour).UTC(), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("--expires %s: must be in the future", s)
		}
		return now.Add(d).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--expires %q: want a duration (720h, 30d) or an RFC 3339 time (2030-01-02T15:04:05Z)", s)
	}
	return t, nil
}
