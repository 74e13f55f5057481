package guest

import (
	"errors"
	"strings"
	"testing"
)

// Serve routes the metadata service's paths to the documents: listings, OpenStack and EC2 files.
func TestServeAnswersOpenStackAndEC2PathsAndNotFoundForTheRest(t *testing.T) {
	inst := testInstance()
	for path, want := range map[string]string{
		"/":                                           "2009-04-04\nlatest",
		"/openstack":                                  "2018-08-27\nlatest",
		"/openstack/latest/":                          "meta_data.json\nuser_data\nnetwork_data.json",
		"/openstack/latest/user_data":                 "#!/bin/sh\necho hello\n",
		"/openstack/2018-08-27/meta_data.json":        `"uuid":"` + inst.ID + `"`,
		"/latest":                                     "meta-data/\nuser-data",
		"/latest/user-data":                           "#!/bin/sh\necho hello\n",
		"/latest/meta-data/instance-id":               inst.ID,
		"/2009-04-04/meta-data/local-ipv4":            "10.0.0.5",
		"/latest/meta-data/public-keys/":              "0=mykey",
		"/latest/meta-data/public-keys/0/openssh-key": "ssh-ed25519 AAAAC3Nza mykey@host",
		"/latest/meta-data/":                          "instance-id\ninstance-type",
	} {
		body, _, err := Serve(inst, path)
		if err != nil || !strings.Contains(string(body), want) {
			t.Errorf("Serve(%q) = %q, %v; want it to hold %q", path, body, err, want)
		}
	}
	inst.UserData = nil
	for _, path := range []string{"/latest/user-data", "/openstack/latest/user_data", "/nothing", "/openstack/1999-01-01/",
		"/openstack/latest/meta_data.json/x", "/latest/meta-data/../../etc/passwd", "/latest/meta-data/nothing"} {
		if body, _, err := Serve(inst, path); !errors.Is(err, ErrNotFound) {
			t.Errorf("Serve(%q) = %q, %v; want ErrNotFound", path, body, err)
		}
	}
	if body, _, _ := Serve(inst, "/openstack/latest/"); strings.Contains(string(body), "user_data") {
		t.Errorf("the listing names user_data the instance has not got: %q", body)
	}
}
