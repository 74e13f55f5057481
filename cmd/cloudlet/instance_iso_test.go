package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// An ISO install from the CLI: create sends the drivers ISOs as cdroms, eject posts to the instance's
// eject route, and show lists the CD-ROMs with the one that boots marked.
func TestInstanceISOInstallCommands(t *testing.T) {
	api := newFakeAPI(t)
	const inst = `{"id":"i-1","name":"win","vm_state":"active","cdroms":[{"image_id":"installer","path":"/x","boot":true},{"image_id":"virtio","path":"/y"}]}`
	run := func(args ...string) (string, request) {
		t.Helper()
		out, errOut, err := runIn("", append([]string{"--url", api.URL, "--token", "t"}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
		return out, api.only()
	}

	api.answerWith(202, inst)
	_, r := run("instance", "create", "win", "--image", "installer", "--cdrom", "virtio", "--cdrom", "more")
	var body struct {
		Image  string
		CDROMs []string `json:"cdroms"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body.Image != "installer" || strings.Join(body.CDROMs, ",") != "virtio,more" {
		t.Errorf("create sent %s (%v); want image installer, cdroms [virtio more]", r.Body, err)
	}

	api.answerWith(200, `{"id":"i-1","name":"win","vm_state":"active"}`)
	if _, r := run("instance", "eject", "win"); r.Method != "POST" || r.Path != "/api/v1/instances/win/eject" {
		t.Errorf("eject sent %s %s, want POST /api/v1/instances/win/eject", r.Method, r.Path)
	}

	api.answerWith(200, inst)
	if out, _ := run("instance", "show", "win"); !strings.Contains(out, "installer (boot), virtio") {
		t.Errorf("show lacks the CD-ROMs:\n%s", out)
	}
}
