package compute

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"cloudlet/appliance/fault"
)

// Each bad guest field is refused before anything is made, as a 400 naming the field.
func TestBadGuestFieldsAreInvalidNamingTheField(t *testing.T) {
	e := newEnv(t, nil)
	many := map[string]string{}
	for i := range 129 {
		many[strings.Repeat("k", i+1)] = "v"
	}
	for _, tc := range []struct {
		name  string
		r     CreateRequest
		field string
	}{
		{"user-data not base64", CreateRequest{UserData: "not base64!"}, "user_data"},
		{"user-data over 64 KiB", CreateRequest{UserData: base64.StdEncoding.EncodeToString(make([]byte, MaxUserData+1))}, "user_data"},
		{"hostname with an underscore", CreateRequest{Hostname: "web_1"}, "hostname"},
		{"hostname with an empty label", CreateRequest{Hostname: "web..lan"}, "hostname"},
		{"hostname ending in a hyphen", CreateRequest{Hostname: "web-"}, "hostname"},
		{"129 metadata items", CreateRequest{Metadata: many}, "metadata"},
		{"a metadata key over 255", CreateRequest{Metadata: map[string]string{strings.Repeat("k", 256): "v"}}, "metadata"},
		{"an empty metadata key", CreateRequest{Metadata: map[string]string{"": "v"}}, "metadata"},
		{"a metadata value over 255", CreateRequest{Metadata: map[string]string{"k": strings.Repeat("v", 256)}}, "metadata"},
		{"a password with a newline", CreateRequest{Password: "a\nb"}, "password"},
		{"an unknown config drive", CreateRequest{ConfigDrive: "floppy"}, "config_drive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.r.ProjectID, tc.r.Name, tc.r.Flavor, tc.r.Image = testProject, "web", "m1.tiny", "img"
			_, err := e.svc.Create(context.Background(), tc.r)
			if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("err = %v; want invalid naming %s", err, tc.field)
			}
		})
	}
	if list, _ := e.svc.List(context.Background(), testProject); len(list) != 0 {
		t.Errorf("%d instances made by bad requests", len(list))
	}
}

// The hostname defaults to one made of the instance name; the exact 64 KiB of user-data is accepted.
func TestHostnameDefaultsToTheNameAndUserDataUpToTheCapIsAccepted(t *testing.T) {
	for name, want := range map[string]string{"web": "web", "db.lan": "db.lan", "a--b-": "a--b", "x..y": "x.y", "-": "instance",
		"tempest-ServersTestJSON-server-1": "tempest-serverstestjson-server-1", "New_vm": "new-vm"} {
		if got, err := checkHostname("", name); err != nil || got != want {
			t.Errorf("hostname of %q = %q, %v; want %q", name, got, err, want)
		}
	}
	g, err := parseGuestFields(base64.StdEncoding.EncodeToString(make([]byte, MaxUserData)), "", nil)
	if err != nil || len(g.userData) != MaxUserData {
		t.Errorf("64 KiB of user-data: %d bytes, %v", len(g.userData), err)
	}
}

// User-data and the password are shown only as their size and a flag: neither is in the instance record
// that lists copy, in show, or in an event.
func TestUserDataAndThePasswordAreInNoListShowOrEvent(t *testing.T) {
	e, _ := seedEnv(t)
	const canary = "CANARY-user-data-7f3a"
	inst := e.createGuest(CreateRequest{Name: "web", UserData: b64("#!/bin/sh\necho " + canary), Password: "CANARY-pw-9b2c"})
	list, err := e.svc.ListJSON(context.Background(), testProject)
	if err != nil {
		t.Fatal(err)
	}
	shown, _ := e.svc.Get(context.Background(), testProject, inst.ID)
	everything := string(list) + strings.Join(e.events(inst.ID), "\n")
	for _, secret := range []string{canary, b64("#!/bin/sh\necho " + canary), "CANARY-pw", "$6$"} {
		if strings.Contains(everything, secret) {
			t.Errorf("%q appears in the list or the events", secret)
		}
	}
	if shown.UserDataSize != len("#!/bin/sh\necho "+canary) || !shown.PasswordSet {
		t.Errorf("show: user_data_size %d, password_set %v", shown.UserDataSize, shown.PasswordSet)
	}
}
