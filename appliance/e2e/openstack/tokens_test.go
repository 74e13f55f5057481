package openstack

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"cloudlet/web/client"
)

// TestOpenStackCLIIssuesAndRevokesATokenAndListsFlavors: the real openstack CLI authenticates against
// cloudlet's Keystone (discovery, password auth scoped to a project of domain Default), gets a token
// that is a cloudlet token, lists the flavors through Nova 2.1, finds an image and a network by name
// through Glance and Neutron (a name is 404 by id, then a filtered list), and revokes the token.
func TestOpenStackCLIIssuesAndRevokesATokenAndListsFlavors(t *testing.T) {
	s := newSite(t)
	var tok struct {
		ID        string `json:"id"`
		ProjectID string `json:"project_id"`
		UserID    string `json:"user_id"`
		Expires   string `json:"expires"`
	}
	if err := json.Unmarshal([]byte(s.cli("admin", "token", "issue", "-f", "json")), &tok); err != nil || tok.ID == "" {
		t.Fatalf("token issue: %+v (%v)", tok, err)
	}
	api := client.New(client.Options{URL: "http://" + s.d.Listen, Token: tok.ID, Timeout: 30 * time.Second})
	var projects []struct{ ID, Name string }
	if err := api.Do(context.Background(), "GET", "/api/v1/auth/projects", nil, &projects); err != nil {
		t.Fatalf("the issued token on /api/v1: %v", err)
	}
	var flavors []struct{ ID, Name string }
	if err := json.Unmarshal([]byte(s.cli("admin", "flavor", "list", "-f", "json")), &flavors); err != nil {
		t.Fatalf("flavor list: %v", err)
	}
	names := map[string]bool{}
	for _, f := range flavors {
		names[f.Name] = true
	}
	if !names["m1.tiny"] || !names["m1.small"] {
		t.Errorf("flavor list = %+v, want cloudlet's m1.* flavors", flavors)
	}
	checkCLIReadsImagesAndNetworks(t, s)
	s.cli("admin", "token", "revoke", tok.ID)
	var ae *client.Error
	err := api.Do(context.Background(), "GET", "/api/v1/auth/projects", nil, &projects)
	if !errorAs(err, &ae) || ae.Code != 401 {
		t.Errorf("the revoked token on /api/v1: %v, want 401", err)
	}
}

// checkCLIReadsImagesAndNetworks: `image show NAME` and `network show NAME` find what cloudlet's API
// made, by the clients' own name lookup; `subnet list` shows the network's subnet.
func checkCLIReadsImagesAndNetworks(t *testing.T, s *site) {
	t.Helper()
	var img, net struct{ ID string }
	s.root("POST", "/api/v1/images", map[string]any{"name": "ib", "disk_format": "qcow2"}, &img)
	s.root("GET", "/api/v1/networks/default", nil, &net)
	var shown struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(s.cli("admin", "image", "show", "ib", "-f", "json")), &shown); err != nil ||
		shown.ID != img.ID || shown.Status != "queued" {
		t.Errorf("image show ib = %+v (%v), want %s queued", shown, err, img.ID)
	}
	if err := json.Unmarshal([]byte(s.cli("admin", "network", "show", "default", "-f", "json")), &shown); err != nil ||
		shown.ID != net.ID {
		t.Errorf("network show default = %+v (%v), want %s", shown, err, net.ID)
	}
	var subnets []struct {
		Network string `json:"Network"`
		Subnet  string `json:"Subnet"`
	}
	if err := json.Unmarshal([]byte(s.cli("admin", "subnet", "list", "-f", "json")), &subnets); err != nil ||
		len(subnets) != 1 || subnets[0].Network != net.ID || subnets[0].Subnet == "" {
		t.Errorf("subnet list = %+v (%v), want the default network's subnet", subnets, err)
	}
}
