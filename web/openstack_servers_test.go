package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/volume"
	"cloudlet/store"
)

// serversPath is Nova 2.1's servers collection.
const serversPath = "/compute/v2.1/servers"

// putServer stores an instance of project as putInstance does, with the task and power states given.
func (f *authFixture) putServer(project, name string, vm compute.VMState, task compute.TaskState, power compute.PowerState,
	edit ...func(*compute.Instance)) compute.Instance {
	f.t.Helper()
	inst := listedInstance(name)
	inst.ProjectID, inst.VMState, inst.TaskState, inst.PowerState = f.projectID(project), vm, task, power
	inst.Metadata = map[string]string{"role": "web"}
	for _, e := range edit {
		e(&inst)
	}
	kind := store.NewKind[compute.Instance](store.BucketInstances, store.ScopeProject)
	if err := f.db.Update(func(tx *store.Tx) error { return kind.Create(tx, &inst) }); err != nil {
		f.t.Fatal(err)
	}
	return inst
}

// serverDetailKeys are the keys tempest's 2.1 server schema allows (additionalProperties false).
var serverDetailKeys = []string{"id", "name", "status", "image", "flavor", "user_id", "tenant_id", "created", "updated",
	"progress", "metadata", "links", "addresses", "hostId", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6", "fault",
	"key_name", "security_groups", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "OS-EXT-AZ:availability_zone",
	"OS-EXT-STS:task_state", "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state", "os-extended-volumes:volumes_attached",
	"config_drive"}

func TestNovaServerListsAreBriefAndDetailIsNova21sShapeOfTheInstance(t *testing.T) {
	f := newAuthFixture(t)
	inst := f.putServer("pa", "web-1", compute.VMStopped, compute.TaskNone, compute.PowerShutdown)
	f.putServer("pb", "other", compute.VMActive, compute.TaskNone, compute.PowerRunning)
	tok := f.tokens["member"]

	var brief struct{ Servers []map[string]any }
	decodeInto(t, f.osDo("GET", serversPath, tok, ""), &brief)
	if len(brief.Servers) != 1 || brief.Servers[0]["id"] != inst.ID || len(brief.Servers[0]) != 3 {
		t.Fatalf("GET /servers = %+v, want only pa's web-1 as {id,name,links}", brief.Servers)
	}
	rec := f.osDo("GET", serversPath+"/detail", tok, "")
	var detail struct{ Servers []map[string]any }
	decodeInto(t, rec, &detail)
	if len(detail.Servers) != 1 {
		t.Fatalf("GET /servers/detail = %s", rec.Body)
	}
	s := detail.Servers[0]
	for k := range s {
		if !slices.Contains(serverDetailKeys, k) {
			t.Errorf("the server has %q, which Nova 2.1's schema does not allow", k)
		}
	}
	want := map[string]any{"status": "SHUTOFF", "OS-EXT-STS:vm_state": "stopped", "OS-EXT-STS:task_state": nil,
		"OS-EXT-STS:power_state": 4.0, "tenant_id": inst.ProjectID, "OS-SRV-USG:launched_at": "2026-01-02T03:04:05.000000",
		"accessIPv4": "", "key_name": nil, "OS-EXT-AZ:availability_zone": "nova"}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("%s = %#v, want %#v", k, s[k], v)
		}
	}
	body := rec.Body.String()
	mustContain(t, "the detailed server", body, `"addresses":{"default":[{"OS-EXT-IPS-MAC:mac_addr":"fa:16:3e:00:00:10","OS-EXT-IPS:type":"fixed","addr":"10.0.0.10","version":4}]}`,
		`"image":{"id":"`+inst.ImageID+`"`, `"flavor":{"id":"`+inst.Flavor.ID+`"`, `"metadata":{"role":"web"}`,
		`"security_groups":[{"name":"default"}]`, `"created":"`+inst.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")+`"`,
		`"os-extended-volumes:volumes_attached":[]`)
	if rec.Header().Get("X-OpenStack-Nova-API-Version") != "2.1" {
		t.Errorf("no microversion header: %v", rec.Header())
	}

	var shown struct{ Server map[string]any }
	decodeInto(t, f.osDo("GET", serversPath+"/"+inst.ID, tok, ""), &shown)
	if shown.Server["id"] != inst.ID || shown.Server["status"] != "SHUTOFF" {
		t.Errorf("GET /servers/{id} = %+v", shown.Server)
	}
}

func TestNovaServerShowsAccessIPsConfigDriveKeyCreatorAndFault(t *testing.T) {
	f := newAuthFixture(t)
	inst := f.putServer("pa", "broken", compute.VMError, compute.TaskNone, compute.PowerCrashed, func(i *compute.Instance) {
		i.AccessIPv4, i.AccessIPv6, i.ConfigDrive, i.KeyName = "1.1.1.1", "::babe:dc0c:1602", compute.ConfigDriveOpenStack, "k1"
		i.Fault, i.SecurityGroups, i.UserID = "qemu exited with status 1", []string{"web"}, "u1"
	})
	var shown struct{ Server map[string]any }
	decodeInto(t, f.osDo("GET", serversPath+"/"+inst.ID, f.tokens["member"], ""), &shown)
	for k, v := range map[string]any{"status": "ERROR", "accessIPv4": "1.1.1.1", "accessIPv6": "::babe:dc0c:1602",
		"config_drive": "True", "key_name": "k1", "user_id": "u1"} {
		if shown.Server[k] != v {
			t.Errorf("%s = %#v, want %#v", k, shown.Server[k], v)
		}
	}
	fault, _ := shown.Server["fault"].(map[string]any)
	if fault["code"] != 500.0 || fault["message"] != "qemu exited with status 1" || fault["created"] == nil {
		t.Errorf("fault = %#v, want code 500, the API's fault and a time", shown.Server["fault"])
	}
	if groups, _ := json.Marshal(shown.Server["security_groups"]); string(groups) != `[{"name":"web"}]` {
		t.Errorf("security_groups = %s, want the group it asked for", groups)
	}
}

func TestNovaServerStatusIsMappedFromCloudletsThreeStates(t *testing.T) {
	f := newAuthFixture(t)
	for _, tc := range []struct {
		vm     compute.VMState
		task   compute.TaskState
		power  compute.PowerState
		status string
	}{
		{compute.VMBuilding, compute.TaskSpawning, compute.PowerNoState, "BUILD"},
		{compute.VMActive, compute.TaskNone, compute.PowerRunning, "ACTIVE"},
		{compute.VMActive, compute.TaskRebooting, compute.PowerRunning, "REBOOT"},
		{compute.VMActive, compute.TaskDeleting, compute.PowerRunning, "ACTIVE"},
		{compute.VMStopped, compute.TaskDeleting, compute.PowerShutdown, "SHUTOFF"},
		{compute.VMPaused, compute.TaskNone, compute.PowerPaused, "PAUSED"},
		{compute.VMSuspended, compute.TaskNone, compute.PowerSuspended, "SUSPENDED"},
		{compute.VMError, compute.TaskNone, compute.PowerCrashed, "ERROR"},
	} {
		name := strings.ReplaceAll(string(tc.vm)+"-"+string(tc.task), "--", "-")
		inst := f.putServer("pa", strings.TrimSuffix(name, "-"), tc.vm, tc.task, tc.power)
		var shown struct{ Server map[string]any }
		decodeInto(t, f.osDo("GET", serversPath+"/"+inst.ID, f.tokens["member"], ""), &shown)
		if shown.Server["status"] != tc.status || shown.Server["OS-EXT-STS:vm_state"] != string(tc.vm) {
			t.Errorf("%s/%s: status %v vm_state %v, want %s", tc.vm, tc.task, shown.Server["status"],
				shown.Server["OS-EXT-STS:vm_state"], tc.status)
		}
	}
	var filtered struct{ Servers []map[string]any }
	decodeInto(t, f.osDo("GET", serversPath+"/detail?status=PAUSED", f.tokens["member"], ""), &filtered)
	if len(filtered.Servers) != 1 || filtered.Servers[0]["status"] != "PAUSED" {
		t.Errorf("?status=PAUSED = %+v, want the paused server only", filtered.Servers)
	}
	decodeInto(t, f.osDo("GET", serversPath+"?name=^active$", f.tokens["member"], ""), &filtered)
	if len(filtered.Servers) != 1 || filtered.Servers[0]["name"] != "active" {
		t.Errorf("?name=^active$ = %+v, want the one server named active", filtered.Servers)
	}
}

func TestNovaServerLookupIs404ForNamesUnknownIdsAndOtherProjects(t *testing.T) {
	f := newAuthFixture(t)
	mine := f.putServer("pa", "web-1", compute.VMActive, compute.TaskNone, compute.PowerRunning)
	theirs := f.putServer("pb", "web-2", compute.VMActive, compute.TaskNone, compute.PowerRunning)
	for name, path := range map[string]string{
		"a name":                 serversPath + "/web-1",
		"an unknown id":          serversPath + "/" + store.NewID(),
		"another project's":      serversPath + "/" + theirs.ID,
		"another project's ips":  serversPath + "/" + theirs.ID + "/ips",
		"a name's volumes":       serversPath + "/web-1/os-volume_attachments",
		"a network it is not on": serversPath + "/" + mine.ID + "/ips/elsewhere",
	} {
		rec := f.osDo("GET", path, f.tokens["member"], "")
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"itemNotFound":{"code":404`) {
			t.Errorf("%s: GET %s = %d %s, want Nova's 404", name, path, rec.Code, rec.Body)
		}
	}
	rec := f.osDo("DELETE", serversPath+"/"+theirs.ID, f.tokens["member"], "")
	if rec.Code != http.StatusNotFound {
		t.Errorf("deleting another project's server = %d %s, want 404", rec.Code, rec.Body)
	}
	rec = f.osDo("GET", serversPath+"/"+mine.ID+"/ips", f.tokens["member"], "")
	mustContain(t, "GET /ips", rec.Body.String(), `{"addresses":{"default":[{"addr":"10.0.0.10","version":4}]}}`)
	rec = f.osDo("GET", serversPath+"/"+mine.ID+"/metadata", f.tokens["member"], "")
	mustContain(t, "GET /metadata", rec.Body.String(), `{"metadata":{"role":"web"}}`)
}

func TestNovaServerCallsWithoutATokenGetKeystones401(t *testing.T) {
	f := newAuthFixture(t)
	for _, c := range []struct{ method, path string }{{"GET", serversPath}, {"POST", serversPath},
		{"POST", serversPath + "/x/action"}, {"GET", serversPath + "/x/os-volume_attachments"}} {
		rec := f.osDo(c.method, c.path, "", `{}`)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"error":{"code":401`) {
			t.Errorf("%s %s without a token = %d %s, want Keystone's 401", c.method, c.path, rec.Code, rec.Body)
		}
	}
}

func TestNovaServerCreateRefusesWhatNovaRefusesWith400(t *testing.T) {
	f := newAuthFixture(t)
	img := f.putImage("pa", "img")
	fl := f.putFlavor("m1.unit", 1)
	ok := `"name":"vm","imageRef":"` + img.ID + `","flavorRef":"` + fl.ID + `","networks":"none"`
	for name, body := range map[string]string{
		"an unknown field":          `{"server":{` + ok + `,"colour":"red"}}`,
		"an unknown body key":       `{"server":{` + ok + `},"extra":1}`,
		"an unknown image":          `{"server":{"name":"vm","imageRef":"` + store.NewID() + `","flavorRef":"` + fl.ID + `","networks":"none"}}`,
		"an unknown flavor":         `{"server":{"name":"vm","imageRef":"` + img.ID + `","flavorRef":"nope","networks":"none"}}`,
		"an unknown network":        `{"server":{"name":"vm","imageRef":"` + img.ID + `","flavorRef":"` + fl.ID + `","networks":[{"uuid":"` + store.NewID() + `"}]}}`,
		"two servers":               `{"server":{` + ok + `,"min_count":2,"max_count":2}}`,
		"another availability zone": `{"server":{` + ok + `,"availability_zone":"mars"}}`,
		"a fixed_ip":                `{"server":{"name":"vm","imageRef":"` + img.ID + `","flavorRef":"` + fl.ID + `","networks":[{"fixed_ip":"10.0.0.9"}]}}`,
		"user_data not base64":      `{"server":{` + ok + `,"user_data":"%%%"}}`,
		"a blank volume mapping":    `{"server":{` + ok + `,"block_device_mapping_v2":[{"boot_index":0,"source_type":"blank","destination_type":"volume","volume_size":1}]}}`,
		"a second volume mapping":   `{"server":{` + ok + `,"block_device_mapping_v2":[{"boot_index":1,"uuid":"v","source_type":"volume","destination_type":"volume"}]}}`,
		"personality files":         `{"server":{` + ok + `,"personality":[{"path":"/etc/motd","contents":"aGk="}]}}`,
		"no image at all":           `{"server":{"name":"vm","flavorRef":"` + fl.ID + `","networks":"none"}}`,
		"no server":                 `{}`,
		"not JSON":                  `{"server":`,
	} {
		rec := f.osDo("POST", serversPath, f.tokens["member"], body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"badRequest":{"code":400`) {
			t.Errorf("%s: POST /servers = %d %s, want Nova's 400", name, rec.Code, rec.Body)
		}
	}
	if rec := f.osDo("POST", serversPath, f.tokens["member"], `{"server":{`+ok+`,"accessIPv4":"::1"}}`); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "access_ipv4") {
		t.Errorf("an IPv6 accessIPv4 = %d %s, want /api/v1's 400 naming access_ipv4", rec.Code, rec.Body)
	}
	if rec := f.osDo("POST", serversPath, f.tokens["reader"], `{"server":{`+ok+`}}`); rec.Code != http.StatusForbidden ||
		!strings.Contains(rec.Body.String(), `"forbidden":{"code":403`) {
		t.Errorf("a reader's create = %d %s, want the API's 403 in Nova's body", rec.Code, rec.Body)
	}
	var list []compute.Instance
	decodeInto(t, f.do("GET", "/api/v1/instances", f.tokens["member"], ""), &list)
	if len(list) != 0 {
		t.Errorf("refused creates made %d instances", len(list))
	}
}

func TestNovaServerActionsAreCloudletsWithItsConflictsAs409(t *testing.T) {
	f := newAuthFixture(t)
	inst := f.putServer("pa", "web-1", compute.VMStopped, compute.TaskNone, compute.PowerShutdown)
	action := serversPath + "/" + inst.ID + "/action"
	tok := f.tokens["member"]
	for name, body := range map[string]string{
		"pause while stopped":   `{"pause":null}`,
		"reboot while stopped":  `{"reboot":{"type":"HARD"}}`,
		"resume while stopped":  `{"resume":null}`,
		"os-stop while stopped": `{"os-stop":null}`,
	} {
		rec := f.osDo("POST", action, tok, body)
		if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `"conflictingRequest":{"code":409`) {
			t.Errorf("%s = %d %s, want Nova's 409", name, rec.Code, rec.Body)
		}
	}
	for name, body := range map[string]string{
		"an unknown action":    `{"os-migrateLive":null}`,
		"two actions":          `{"pause":null,"unpause":null}`,
		"a reboot of no type":  `{"reboot":{"type":"WARM"}}`,
		"a rebuild's bad key":  `{"rebuild":{"imageRef":"x","colour":"red"}}`,
		"a console of no type": `{"os-getVNCConsole":{"type":"spice"}}`,
	} {
		rec := f.osDo("POST", action, tok, body)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s = %d %s, want 400", name, rec.Code, rec.Body)
		}
	}
	if rec := f.osDo("POST", serversPath+"/web-1/action", tok, `{"os-start":null}`); rec.Code != http.StatusNotFound {
		t.Errorf("an action on a name = %d, want 404", rec.Code)
	}
	if rec := f.osDo("POST", action, f.tokens["reader"], `{"os-start":null}`); rec.Code != http.StatusForbidden {
		t.Errorf("a reader's os-start = %d %s, want 403", rec.Code, rec.Body)
	}
	rec := f.osDo("POST", action, tok, `{"os-start":null}`)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("os-start of a stopped server = %d %s, want 202", rec.Code, rec.Body)
	}
	var got compute.Instance
	decodeInto(t, f.do("GET", "/api/v1/instances/"+inst.ID, tok, ""), &got)
	if got.TaskState != compute.TaskPoweringOn && got.VMState == compute.VMStopped && got.Fault == "" {
		t.Errorf("after os-start the API shows %s/%s, want a start begun", got.VMState, got.TaskState)
	}
}

// The fixture runs no supervisor work (no volumes service), so a delete that begins is the
// end-to-end test's (servers_test.go); here only its refusals.
func TestNovaServerDeleteIsRefusedToReaders(t *testing.T) {
	f := newAuthFixture(t)
	inst := f.putServer("pa", "web-1", compute.VMStopped, compute.TaskNone, compute.PowerShutdown)
	if rec := f.osDo("DELETE", serversPath+"/"+inst.ID, f.tokens["reader"], ""); rec.Code != http.StatusForbidden ||
		!strings.Contains(rec.Body.String(), `"forbidden":{"code":403`) {
		t.Errorf("a reader's delete = %d %s, want the API's 403 in Nova's body", rec.Code, rec.Body)
	}
	if rec := f.osDo("DELETE", serversPath+"/web-1", f.tokens["member"], ""); rec.Code != http.StatusNotFound {
		t.Errorf("deleting by name = %d %s, want 404", rec.Code, rec.Body)
	}
}

func TestNovaVolumeAttachmentsListAndRefuseUnknownVolumes(t *testing.T) {
	f := newAuthFixture(t)
	inst := f.putServer("pa", "web-1", compute.VMStopped, compute.TaskNone, compute.PowerShutdown)
	path := serversPath + "/" + inst.ID + "/os-volume_attachments"
	rec := f.osDo("GET", path, f.tokens["member"], "")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"volumeAttachments":[]}` {
		t.Errorf("GET os-volume_attachments = %d %s, want an empty list", rec.Code, rec.Body)
	}
	if _, err := f.srv.opts.Volumes.Create(context.Background(), inst.ProjectID, volume.CreateRequest{Name: "data", SizeGiB: 1}); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"an unknown volume": `{"volumeAttachment":{"volumeId":"` + store.NewID() + `","device":null}}`,
		"a volume's name":   `{"volumeAttachment":{"volumeId":"data"}}`,
	} {
		if rec := f.osDo("POST", path, f.tokens["member"], body); rec.Code != http.StatusNotFound {
			t.Errorf("attaching %s = %d %s, want 404", name, rec.Code, rec.Body)
		}
	}
	if rec := f.osDo("POST", path, f.tokens["member"], `{"volumeAttachment":{}}`); rec.Code != http.StatusBadRequest {
		t.Errorf("an attachment without volumeId = %d, want 400", rec.Code)
	}
	if rec := f.osDo("DELETE", path+"/"+store.NewID(), f.tokens["member"], ""); rec.Code != http.StatusNotFound {
		t.Errorf("detaching a volume not attached = %d, want 404", rec.Code)
	}
}
