package main

import (
	"crypto/x509"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/web/client"
)

// connection is how a client command reaches the daemon: URL with Token, else the unix Socket. An
// https URL's server is trusted as its stored login says (Fingerprint or CA), else by the system.
type connection struct {
	URL         string
	Token       string
	Socket      string
	Fingerprint string
	CA          *x509.CertPool
}

// needsConnection says whether cmd calls the API, by the top-level command it belongs to. The
// others never call it (or, like login, reach it their own way), so a broken or expired login
// must not stop them.
func needsConnection(cmd *cobra.Command) bool {
	for cmd.HasParent() && cmd.Parent().HasParent() {
		cmd = cmd.Parent()
	}
	if !cmd.HasParent() {
		return false // the root command itself only prints help
	}
	switch cmd.Name() {
	case "serve", "doctor", "version", "login", "logout", "help", "completion",
		cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
		return false
	}
	return true
}

// resolveConnection applies the precedence rules: --socket given → that socket; else --url given
// (or $CLOUDLET_URL) → HTTP with --token, $CLOUDLET_TOKEN or the token stored for that URL; else
// the most recent stored login; else the default socket.
func (g *globals) resolveConnection(socketGiven bool, now time.Time) (connection, error) {
	explicit := g.token
	if explicit == "" {
		explicit = os.Getenv("CLOUDLET_TOKEN")
	}
	if socketGiven {
		return connection{Socket: g.socket, Token: explicit}, nil
	}
	if g.url != "" && explicit != "" && !strings.HasPrefix(g.url, "https:") {
		return connection{URL: g.url, Token: explicit}, nil
	}
	path, err := userConfigPath()
	if err != nil {
		return connection{}, err
	}
	cfg, err := loadUserConfig(path)
	if err != nil {
		return connection{}, err
	}
	login := cfg.current()
	if g.url != "" {
		login = cfg.find(g.url)
		if login == nil {
			return connection{URL: g.url, Token: explicit}, nil
		}
	}
	if login == nil {
		return connection{Socket: g.socket, Token: explicit}, nil
	}
	tr, err := trustOf(login)
	if err != nil {
		return connection{}, err
	}
	conn := connection{URL: login.URL, Token: explicit, Fingerprint: tr.Fingerprint, CA: tr.CA}
	if g.url != "" {
		conn.URL = g.url
	}
	if explicit != "" {
		return conn, nil
	}
	if err := login.usable(now); err != nil {
		return connection{}, err
	}
	conn.Token = login.Token
	return conn, nil
}

// client returns an API client over the resolved connection.
func (g *globals) client() *client.Client {
	c := g.conn
	if c.URL == "" && c.Socket == "" { // not resolved: an offline command
		c.Socket = g.socket
	}
	return client.New(client.Options{URL: c.URL, Token: c.Token, Socket: c.Socket, Project: g.project,
		Fingerprint: c.Fingerprint, CA: c.CA})
}
