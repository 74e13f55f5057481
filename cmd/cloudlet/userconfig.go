package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// userConfig is the client's own file, $XDG_CONFIG_HOME/cloudlet/config.json: the logins made with
// `cloudlet login`, most recent first. It holds bearer tokens, so it is written 0600 in a 0700
// directory and refused when others could read it. It never holds a password.
type userConfig struct {
	Logins []storedLogin `json:"logins"`
}

// storedLogin is one `cloudlet login`: where, who, and the token to send.
type storedLogin struct {
	URL       string    `json:"url"`
	Token     string    `json:"token"`
	TokenID   string    `json:"token_id"`
	User      string    `json:"user"`
	Project   string    `json:"project"`
	ExpiresAt time.Time `json:"expires_at"`
	// How the server of an https URL is trusted: Fingerprint pins its certificate (confirmed at
	// login), else CAFile verifies it, else the system's CAs do.
	Fingerprint string `json:"tls_fingerprint,omitempty"`
	CAFile      string `json:"ca_file,omitempty"`
}

// userConfigPath is where the config lives: os.UserConfigDir honours $XDG_CONFIG_HOME and falls
// back to ~/.config.
func userConfigPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find the config directory: %w", err)
	}
	return filepath.Join(dir, "cloudlet", "config.json"), nil
}

// loadUserConfig reads the config at path; a missing file is an empty config.
func loadUserConfig(path string) (*userConfig, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &userConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		return nil, fmt.Errorf("refusing to read %s: it holds tokens but its mode is %04o, so other users can "+
			"read it; run chmod 600 %s (and revoke its tokens if others may have seen them)", path, mode, path)
	}
	var c userConfig
	if err := json.NewDecoder(f).Decode(&c); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &c, nil
}

// save writes the config to path atomically, 0600 in a 0700 directory.
func (c *userConfig) save(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".config-*.json") // CreateTemp makes it 0600
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// find returns the login for url, or nil.
func (c *userConfig) find(url string) *storedLogin {
	for i := range c.Logins {
		if sameURL(c.Logins[i].URL, url) {
			return &c.Logins[i]
		}
	}
	return nil
}

// current returns the most recent login, or nil.
func (c *userConfig) current() *storedLogin {
	if len(c.Logins) == 0 {
		return nil
	}
	return &c.Logins[0]
}

// put makes l the current login, replacing any earlier login to the same URL.
func (c *userConfig) put(l storedLogin) {
	c.remove(l.URL)
	c.Logins = append([]storedLogin{l}, c.Logins...)
}

// remove drops the login for url.
func (c *userConfig) remove(url string) {
	kept := c.Logins[:0]
	for _, l := range c.Logins {
		if !sameURL(l.URL, url) {
			kept = append(kept, l)
		}
	}
	c.Logins = kept
}

func sameURL(a, b string) bool { return strings.TrimRight(a, "/") == strings.TrimRight(b, "/") }

// usable says why a stored login cannot be used any more, or nil.
func (l *storedLogin) usable(now time.Time) error {
	if !l.ExpiresAt.IsZero() && !now.Before(l.ExpiresAt) {
		return fmt.Errorf("your login to %s as %s expired at %s: run cloudlet login --url %s --user %s to login again",
			l.URL, l.User, l.ExpiresAt.Local().Format(time.RFC3339), l.URL, l.User)
	}
	return nil
}
