package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cloudlet/web/client"
)

// osCLI runs Debian's openstack CLI (python3-openstackclient, installed by packaging/deps.sh test)
// against the daemon's Keystone as user of project, with a fresh HOME (no clouds.yaml of the host's),
// and returns its stdout; a failure ends the test with its stderr.
func osCLI(t *testing.T, d *Daemon, user, password, project string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("openstack")
	if err != nil {
		t.Fatalf("the openstack CLI is not installed (packaging/deps.sh test installs python3-openstackclient): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append([]string{"--os-auth-url", "http://" + d.Listen + "/identity/v3",
		"--os-identity-api-version", "3", "--os-username", user, "--os-password", password, "--os-project-name", project,
		"--os-user-domain-name", "Default", "--os-project-domain-name", "Default", "--os-region-name", "RegionOne"}, args...)...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openstack %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// TestOpenStackCLIIssuesAndRevokesATokenAndListsFlavors: the real openstack CLI authenticates against
// cloudlet's Keystone (discovery, password auth scoped to a project of domain Default), gets a token
// that is a cloudlet token, lists the flavors through Nova 2.1, finds an image and a network by name
// through Glance and Neutron (a name is 404 by id, then a filtered list), and revokes the token.
func TestOpenStackCLIIssuesAndRevokesATokenAndListsFlavors(t *testing.T) {
	d := NewDaemon(t, cloudletBin)
	d.Start(t)
	d.WaitReady(t)
	pw, err := os.ReadFile(filepath.Join(d.DataDir, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	password := strings.TrimSpace(string(pw))
	var tok struct {
		ID        string `json:"id"`
		ProjectID string `json:"project_id"`
		UserID    string `json:"user_id"`
		Expires   string `json:"expires"`
	}
	if err := json.Unmarshal([]byte(osCLI(t, d, "admin", password, "admin", "token", "issue", "-f", "json")), &tok); err != nil || tok.ID == "" {
		t.Fatalf("token issue: %+v (%v)", tok, err)
	}
	api := client.New(client.Options{URL: "http://" + d.Listen, Token: tok.ID, Timeout: 30 * time.Second})
	var projects []struct{ ID, Name string }
	if err := api.Do(context.Background(), "GET", "/api/v1/auth/projects", nil, &projects); err != nil {
		t.Fatalf("the issued token on /api/v1: %v", err)
	}
	var flavors []struct{ ID, Name string }
	if err := json.Unmarshal([]byte(osCLI(t, d, "admin", password, "admin", "flavor", "list", "-f", "json")), &flavors); err != nil {
		t.Fatalf("flavor list: %v", err)
	}
	names := map[string]bool{}
	for _, f := range flavors {
		names[f.Name] = true
	}
	if !names["m1.tiny"] || !names["m1.small"] {
		t.Errorf("flavor list = %+v, want cloudlet's m1.* flavors", flavors)
	}
	checkCLIReadsImagesAndNetworks(t, d, password)
	osCLI(t, d, "admin", password, "admin", "token", "revoke", tok.ID)
	if err := api.Do(context.Background(), "GET", "/api/v1/auth/projects", nil, &projects); !isHTTP(err, 401) {
		t.Errorf("the revoked token on /api/v1: %v, want 401", err)
	}
}

// checkCLIReadsImagesAndNetworks: `image show NAME` and `network show NAME` find what cloudlet's API
// made, by the clients' own name lookup; `subnet list` shows the network's subnet.
func checkCLIReadsImagesAndNetworks(t *testing.T, d *Daemon, password string) {
	t.Helper()
	var img, net struct{ ID string }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Client().Do(ctx, "POST", "/api/v1/images", map[string]any{"name": "ib", "disk_format": "qcow2"}, &img); err != nil {
		t.Fatal(err)
	}
	if err := d.Client().Do(ctx, "GET", "/api/v1/networks/default", nil, &net); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(osCLI(t, d, "admin", password, "admin", "image", "show", "ib", "-f", "json")), &shown); err != nil ||
		shown.ID != img.ID || shown.Status != "queued" {
		t.Errorf("image show ib = %+v (%v), want %s queued", shown, err, img.ID)
	}
	if err := json.Unmarshal([]byte(osCLI(t, d, "admin", password, "admin", "network", "show", "default", "-f", "json")), &shown); err != nil ||
		shown.ID != net.ID {
		t.Errorf("network show default = %+v (%v), want %s", shown, err, net.ID)
	}
	var subnets []struct {
		Network string `json:"Network"`
		Subnet  string `json:"Subnet"`
	}
	if err := json.Unmarshal([]byte(osCLI(t, d, "admin", password, "admin", "subnet", "list", "-f", "json")), &subnets); err != nil ||
		len(subnets) != 1 || subnets[0].Network != net.ID || subnets[0].Subnet == "" {
		t.Errorf("subnet list = %+v (%v), want the default network's subnet", subnets, err)
	}
}
