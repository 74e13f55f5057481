package main

import (
	"github.com/spf13/cobra"

	"cloudlet/appliance/identity"
)

const tokensPath = "/api/v1/auth/tokens"

var tokenHeader = []string{"ID", "USER", "PROJECT", "CREATED", "EXPIRES", "SOURCE"}

func tokenRow(t *identity.Token) []string {
	return []string{t.ID, t.UserID, t.ProjectID, when(&t.CreatedAt), when(&t.ExpiresAt), t.Source}
}

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "your login tokens (cloudlet login makes one)"}
	cmd.AddCommand(
		&cobra.Command{Use: "list", Short: "list your tokens", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error { return listResource(g, tokensPath, tokenHeader, tokenRow) }},
		&cobra.Command{Use: "revoke ID", Short: "revoke a token (cloudlet logout revokes the stored one)", Args: cobra.ExactArgs(1),
			RunE: func(_ *cobra.Command, a []string) error {
				return g.call("DELETE", itemPath(tokensPath, a[0]), nil, nil)
			}})
	return cmd
}
