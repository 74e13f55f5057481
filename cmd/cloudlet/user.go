package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"cloudlet/appliance/identity"
)

const usersPath = "/api/v1/users"

var userHeader = []string{"ID", "NAME", "EMAIL", "ENABLED", "DEFAULT PROJECT"}

func userRow(u *identity.User) []string {
	return []string{u.ID, u.Name, u.Email, yesNo(u.Enabled), u.DefaultProjectID}
}

func newUserCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "users: people and robots that log in"}
	cmd.AddCommand(newUserCreateCmd(g), newUserSetCmd(g), newUserResetPasswordCmd(g), newUserUnlockCmd(g))
	cmd.AddCommand(crudCommands(g, "user", usersPath, userHeader, userRow)...)
	return cmd
}

// passwordFlags are the ways to give a user's password. The flag value shows in ps and shell
// history, so the prompt and stdin come first.
type passwordFlags struct {
	value     string
	fromStdin bool
}

func (p *passwordFlags) register(c *cobra.Command) {
	c.Flags().BoolVar(&p.fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	c.Flags().StringVar(&p.value, "password", "", "the password (insecure: other users see it in ps; prefer --password-stdin)")
	c.MarkFlagsMutuallyExclusive("password", "password-stdin")
}

// given says whether a password flag was used.
func (p *passwordFlags) given(c *cobra.Command) bool {
	return c.Flags().Changed("password") || p.fromStdin
}

// read returns the password: the flag's, else stdin's first line, else one typed at the terminal.
func (p *passwordFlags) read(g *globals, c *cobra.Command, user string) (string, error) {
	if c.Flags().Changed("password") {
		fmt.Fprintln(g.stderr, "warning: a password given with --password is visible to other users in ps; prefer --password-stdin")
		if p.value == "" {
			return "", errors.New("--password is empty")
		}
		return p.value, nil
	}
	return readPassword(c.InOrStdin(), g.stderr, "New password for "+user, p.fromStdin)
}

func newUserCreateCmd(g *globals) *cobra.Command {
	var email, project string
	var enabled bool
	var pw passwordFlags
	cmd := &cobra.Command{Use: "create NAME [--email E] [--project P] [--password-stdin]",
		Short: "create a user; the password is prompted for, or read from stdin", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, a []string) error {
			password, err := pw.read(g, c, a[0])
			if err != nil {
				return err
			}
			in := map[string]any{"name": a[0], "email": email, "password": password, "enabled": enabled,
				"default_project": project}
			return showResource(g, "POST", usersPath, in, userHeader, userRow)
		}}
	cmd.Flags().StringVar(&email, "email", "", "e-mail address")
	cmd.Flags().StringVar(&project, "project", "", "default project (its name or ID), used when a login names none")
	cmd.Flags().BoolVar(&enabled, "enabled", true, "whether the user may log in")
	pw.register(cmd)
	return cmd
}

func newUserSetCmd(g *globals) *cobra.Command {
	var email, project string
	var enable, disable bool
	var pw passwordFlags
	cmd := &cobra.Command{Use: "set USER [--email E] [--project P] [--enable|--disable] [--password-stdin]",
		Short: "change a user", Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, a []string) error {
			in := map[string]any{}
			if c.Flags().Changed("email") {
				in["email"] = email
			}
			if c.Flags().Changed("project") {
				in["default_project"] = project
			}
			if enable || disable {
				in["enabled"] = enable
			}
			if pw.given(c) {
				password, err := pw.read(g, c, a[0])
				if err != nil {
					return err
				}
				in["password"] = password
			}
			if len(in) == 0 {
				return errors.New("give --email, --project, --enable, --disable or --password-stdin")
			}
			return showResource(g, "PATCH", itemPath(usersPath, a[0]), in, userHeader, userRow)
		}}
	cmd.Flags().StringVar(&email, "email", "", "e-mail address")
	cmd.Flags().StringVar(&project, "project", "", "default project (its name or ID)")
	cmd.Flags().BoolVar(&enable, "enable", false, "let the user log in")
	cmd.Flags().BoolVar(&disable, "disable", false, "stop the user logging in")
	cmd.MarkFlagsMutuallyExclusive("enable", "disable")
	pw.register(cmd)
	return cmd
}

func newUserResetPasswordCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "reset-password USER", Short: "give a user a new random password and print it once",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			var out struct {
				Password string `json:"password"`
			}
			raw, err := g.fetch("POST", itemPath(usersPath, a[0])+"/reset-password", nil, &out)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stderr, "The new password of %s is shown once; it cannot be shown again.\n", a[0])
			if g.output == "json" {
				return g.printJSON(raw)
			}
			_, err = fmt.Fprintln(g.stdout, out.Password)
			return err
		}}
}

func newUserUnlockCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "unlock USER", Short: "clear a user's login lockouts (after failed logins) at every address",
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, a []string) error {
			if err := g.call("DELETE", itemPath(usersPath, a[0])+"/lockout", nil, nil); err != nil {
				return err
			}
			_, err := fmt.Fprintf(g.stdout, "login lockouts of %s cleared\n", a[0])
			return err
		}}
}
