package e2e

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"cloudlet/appliance/compute"
)

// Two projects share one cloudlet safely: each member launches an instance and a volume; neither sees or
// touches the other's (404, not 403); a project limited to two instances gets 409 naming the quota for
// the third, also when 50 creates race; a revoked API key fails on its next call; no password or
// secret reaches the daemon's output.
//
// The test boots four instances and is done a second later: before it ends (also when it fails) it
// waits until none is still spawning, so the daemon is never killed in the middle of a spawn, when a
// QEMU it forked is exec'd only after the cleanup's scan (the flake, and the QEMU that outlived it).
func TestProjectsAreIsolated(t *testing.T) {
	c := newCloud(t, `{"trust_loopback": false}`)
	api := httpAPI{t: t, base: "http://" + c.D.Listen}
	booted := map[string]string{} // every instance the test created → its owner's token
	t.Cleanup(func() { api.waitSpawned(booted, bootWait) })
	g := GuestPaths(t)
	c.ImportImage(map[string]any{"name": "pub", "path": g.Disk, "disk_format": "qcow2", "visibility": "public",
		"kernel_path": g.Kernel, "initrd_path": g.Initrd, "cmdline": "console=ttyS0 panic=-1 no_timer_check"})
	admin := c.D.AdminToken(t)
	const canary = "canary-tenant-pw-83f1"
	tokens := map[string]string{}
	for _, p := range []string{"pa", "pb"} {
		tokens[p] = api.addMember(admin, p, "u"+p[1:], canary)
	}

	own := map[string]map[string]string{} // project → kind → id
	for _, p := range []string{"pa", "pb"} {
		var inst, vol struct{ ID string }
		if code := api.call("POST", "/api/v1/instances", tokens[p], map[string]any{"name": "vm", "image": "pub",
			"flavor": "m1.tiny", "networks": []string{}}, &inst); code != 202 {
			t.Fatalf("%s creates an instance = %d", p, code)
		}
		if code := api.call("POST", "/api/v1/volumes", tokens[p], map[string]any{"name": "data", "size_gib": 1}, &vol); code/100 != 2 {
			t.Fatalf("%s creates a volume = %d", p, code)
		}
		own[p] = map[string]string{"instances": inst.ID, "volumes": vol.ID}
		booted[inst.ID] = tokens[p]
	}
	for _, kind := range []string{"instances", "volumes"} {
		for me, other := range map[string]string{"pa": "pb", "pb": "pa"} {
			var list []struct {
				ID        string `json:"id"`
				ProjectID string `json:"project_id"`
			}
			code := api.call("GET", "/api/v1/"+kind, tokens[me], nil, &list)
			ids := map[string]bool{}
			for _, x := range list {
				ids[x.ID] = true
				if x.ProjectID != list[0].ProjectID {
					t.Errorf("%s's %s list mixes projects", me, kind)
				}
			}
			if code != 200 || !ids[own[me][kind]] || ids[own[other][kind]] {
				t.Errorf("%s lists %s = %d %v, want its own %s and not %s's", me, kind, code, ids, own[me][kind], other)
			}
			for _, method := range []string{"GET", "DELETE"} {
				if code := api.call(method, "/api/v1/"+kind+"/"+own[other][kind], tokens[me], nil, nil); code != 404 {
					t.Errorf("%s %s %s's %s = %d, want 404", me, method, other, kind, code)
				}
			}
		}
	}

	if code := api.call("PUT", "/api/v1/quotas/pa", admin, map[string]any{"limits": map[string]int{"instances": 2}}, nil); code != 200 {
		t.Fatalf("set pa's quota = %d", code)
	}
	var vm2 struct{ ID string }
	if code := api.call("POST", "/api/v1/instances", tokens["pa"], map[string]any{"name": "vm2", "image": "pub",
		"flavor": "m1.tiny", "networks": []string{}}, &vm2); code != 202 {
		t.Fatalf("pa's second instance = %d", code)
	}
	booted[vm2.ID] = tokens["pa"]
	status, body := apiStatusAuth(t, c, tokens["pa"], `{"name":"vm3","image":"pub","flavor":"m1.tiny","networks":[]}`)
	if status != 409 || !strings.Contains(body, "instances") || !strings.Contains(body, "limit 2") {
		t.Errorf("pa's third instance = %d %s, want 409 naming the instances quota and its limit", status, body)
	}
	if code := api.call("PUT", "/api/v1/quotas/pb", admin, map[string]any{"limits": map[string]int{"instances": 2}}, nil); code != 200 {
		t.Fatalf("set pb's quota = %d", code)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := apiStatusAuth(t, c, tokens["pb"], `{"name":"race`+strings.Repeat("x", i%3)+string(rune('a'+i%26))+`","image":"pub","flavor":"m1.tiny","networks":[]}`)
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	var list []struct{ ID string }
	if code := api.call("GET", "/api/v1/instances", tokens["pb"], nil, &list); code != 200 || len(list) != 2 {
		t.Errorf("after 50 racing creates pb has %d instances (%v), want exactly its limit 2", len(list), codes)
	}
	for _, inst := range list {
		booted[inst.ID] = tokens["pb"]
	}

	var cred struct{ ID, Secret string }
	if code := api.call("POST", "/api/v1/credentials", tokens["pa"], map[string]any{"name": "ci", "project": "pa"}, &cred); code != 201 || cred.Secret == "" {
		t.Fatalf("pa's API key = %d", code)
	}
	if code := api.call("GET", "/api/v1/volumes", cred.Secret, nil, nil); code != 200 {
		t.Errorf("the API key = %d, want 200", code)
	}
	if code := api.call("DELETE", "/api/v1/credentials/"+cred.ID, tokens["pa"], nil, nil); code != 204 {
		t.Fatalf("revoke the API key = %d", code)
	}
	if code := api.call("GET", "/api/v1/volumes", cred.Secret, nil, nil); code != 401 {
		t.Errorf("a revoked API key = %d, want 401", code)
	}
	out := c.D.Stdout() + c.D.Stderr()
	for name, secret := range map[string]string{"a password": canary, "a token": tokens["pa"], "an API key": cred.Secret} {
		if strings.Contains(out, secret) {
			t.Errorf("the daemon's output holds %s", name)
		}
	}
}

// waitSpawned waits until none of the instances is still spawning (each is active or in error), as
// the catalog shows them to their owner (id → token), or limit has passed; it reports one that did not
// settle.
func (h httpAPI) waitSpawned(owners map[string]string, limit time.Duration) {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for id, token := range owners {
		for {
			var inst compute.Instance
			code := h.call("GET", "/api/v1/instances/"+id, token, nil, &inst)
			if code == 200 && inst.TaskState != compute.TaskSpawning {
				break
			}
			if time.Now().After(deadline) {
				h.t.Errorf("instance %s still spawning after %s: %d, task %q", id, limit, code, inst.TaskState)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// apiStatusAuth creates an instance over TCP with a bearer token and returns the status and body.
func apiStatusAuth(t *testing.T, c *Cloud, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", "http://"+c.D.Listen+"/api/v1/instances", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// An instance created with a keypair of the caller's records its name and public key (for the guest to
// trust); another user's keypair is unknown to the caller: 404, as Nova answers.
func TestInstanceTakesTheCallersKeypair(t *testing.T) {
	c := newCloud(t, "")
	var k struct {
		PublicKey string `json:"public_key"`
	}
	if err := c.Do("POST", "/api/v1/keypairs", map[string]any{"name": "mine"}, &k); err != nil || !strings.HasPrefix(k.PublicKey, "ssh-ed25519 ") {
		t.Fatalf("generate a keypair: %+v %v", k, err)
	}
	inst := c.Create("keyed", kernelImage, map[string]any{"key_name": "mine", "networks": []string{}})
	if got := c.Show(inst.ID); got.KeyName != "mine" || got.KeyData != k.PublicKey {
		t.Errorf("instance key %q %q, want mine with %q", got.KeyName, got.KeyData, k.PublicKey)
	}
	status, body := apiStatus(t, c, "POST", "/api/v1/instances", `{"name":"x","image":"tg","flavor":"m1.tiny","networks":[],"key_name":"nope"}`)
	if status != 404 || !strings.Contains(body, "nope") {
		t.Errorf("an unknown keypair: %d %s", status, body)
	}
}
