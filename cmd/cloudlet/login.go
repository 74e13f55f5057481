package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/web/client"
)

// tokenAnswer is the answer to POST /api/v1/auth/tokens.
type tokenAnswer struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	UserID    string    `json:"user_id"`
	ProjectID string    `json:"project_id"`
}

func newLoginCmd(g *globals) *cobra.Command {
	var user string
	var fromStdin bool
	var tf trustFlags
	cmd := &cobra.Command{
		Use:   "login --url URL --user USER [--project PROJECT] [--password-stdin] [--fingerprint SHA256:… | --ca-file FILE]",
		Short: "get a token for a user and store it in ~/.config/cloudlet/config.json (0600)",
		Long: "login asks for the password on the terminal (echo off), or reads one line of stdin with\n" +
			"--password-stdin, gets a token and stores it with the URL, so later commands need neither\n" +
			"--url nor --token. The password itself is never stored. Without --url or --user, login\n" +
			"again as your last login.\n\n" +
			"An https server is trusted by its certificate's fingerprint: on first contact login shows it\n" +
			"and asks (on a terminal; otherwise give --fingerprint, as cloudlet host or the daemon's start\n" +
			"output shows it), then remembers it for later commands and refuses a changed one. --ca-file\n" +
			"verifies the server against a CA instead. Plain http is refused off loopback unless --insecure.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.login(cmd, user, fromStdin, tf)
		},
	}
	cmd.Flags().StringVar(&user, "user", "", "user name")
	cmd.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin")
	cmd.Flags().StringVar(&tf.fingerprint, "fingerprint", "", "trust the https server whose certificate has this SHA-256 fingerprint")
	cmd.Flags().StringVar(&tf.caFile, "ca-file", "", "verify the https server against the CA certificates in this PEM file")
	cmd.Flags().BoolVar(&tf.insecure, "insecure", false, "allow a plain http URL to another host (the password crosses the network in clear text)")
	return cmd
}

func (g *globals) login(cmd *cobra.Command, user string, fromStdin bool, tf trustFlags) error {
	path, err := userConfigPath()
	if err != nil {
		return err
	}
	cfg, err := loadUserConfig(path)
	if err != nil {
		return err
	}
	base, project := g.url, g.project
	if last := cfg.current(); last != nil && (base == "" || sameURL(base, last.URL)) {
		base = last.URL
		if user == "" {
			user = last.User
		}
		if project == "" && user == last.User {
			project = last.Project
		}
	}
	if base == "" || user == "" {
		return errors.New("login: give --url URL and --user USER")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tr, err := g.loginTrust(ctx, cmd.InOrStdin(), base, cfg.find(base), tf)
	if err != nil {
		return err
	}
	password, err := readPassword(cmd.InOrStdin(), g.stderr, fmt.Sprintf("Password for %s at %s", user, base), fromStdin)
	if err != nil {
		return err
	}
	var tok tokenAnswer
	in := map[string]string{"username": user, "password": password}
	if project != "" { // none: the user's default project
		in["project"] = project
	}
	api := client.New(client.Options{URL: base, Fingerprint: tr.Fingerprint, CA: tr.CA})
	if err := api.Do(ctx, "POST", "/api/v1/auth/tokens", in, &tok); err != nil {
		return fmt.Errorf("login to %s as %s: %w", base, user, loginHint(err))
	}
	if project == "" {
		project = tok.ProjectID
	}
	cfg.put(storedLogin{URL: base, Token: tok.Token, TokenID: tok.ID, User: user, Project: project, ExpiresAt: tok.ExpiresAt,
		Fingerprint: tr.Fingerprint, CAFile: tr.CAFile})
	if err := cfg.save(path); err != nil {
		return err
	}
	_, err = fmt.Fprintf(g.stdout, "Logged in to %s as %s in project %s; the token expires at %s.\n",
		base, user, project, tok.ExpiresAt.Local().Format(time.RFC3339))
	return err
}

// loginHint explains the two answers a login commonly gets.
func loginHint(err error) error {
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Code {
		case http.StatusUnauthorized:
			return fmt.Errorf("wrong user, password or project: %w", err)
		case http.StatusTooManyRequests:
			return fmt.Errorf("too many failed logins from here (an admin can clear them: cloudlet user unlock USER): %w", err)
		}
	}
	return err
}

func newLogoutCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "revoke the stored token (of --url, else of your last login) and forget it",
		Args:  cobra.NoArgs,
		RunE:  func(*cobra.Command, []string) error { return g.logout(time.Now()) },
	}
}

func (g *globals) logout(now time.Time) error {
	path, err := userConfigPath()
	if err != nil {
		return err
	}
	cfg, err := loadUserConfig(path)
	if err != nil {
		return err
	}
	l := cfg.current()
	if g.url != "" {
		l = cfg.find(g.url)
	}
	if l == nil {
		return errors.New("logout: not logged in")
	}
	login := *l
	cfg.remove(login.URL)
	if err := cfg.save(path); err != nil {
		return err
	}
	if login.usable(now) != nil {
		_, err := fmt.Fprintf(g.stdout, "Logged out of %s (the token had expired).\n", login.URL)
		return err
	}
	if err := revokeToken(login); err != nil {
		return fmt.Errorf("logged out of %s locally, but revoking the token failed, so it stays valid until %s: %w",
			login.URL, login.ExpiresAt.Local().Format(time.RFC3339), err)
	}
	_, err = fmt.Fprintf(g.stdout, "Logged out of %s; the token is revoked.\n", login.URL)
	return err
}

// revokeToken deletes l's token on the server; one that is already gone counts as revoked.
func revokeToken(l storedLogin) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tr, err := trustOf(&l)
	if err != nil {
		return err
	}
	err = client.New(client.Options{URL: l.URL, Token: l.Token, Fingerprint: tr.Fingerprint, CA: tr.CA}).Do(ctx, "DELETE", "/api/v1/auth/tokens/"+url.PathEscape(l.TokenID), nil, nil)
	var apiErr *client.Error
	if errors.As(err, &apiErr) && (apiErr.Code == http.StatusUnauthorized || apiErr.Code == http.StatusNotFound) {
		return nil
	}
	return err
}
