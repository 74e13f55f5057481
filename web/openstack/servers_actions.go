package openstack

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"cloudlet/appliance/compute"
	"cloudlet/web/client"
)

// simpleActions are the actions that are one /api/v1 verb each, by Nova's name.
var simpleActions = map[string]string{
	"os-start": "start", "os-stop": "stop", "pause": "pause", "unpause": "unpause",
	"suspend": "suspend", "resume": "resume",
}

// serverAction serves POST /servers/{id}/action: a body of one key, the action, and its
// arguments. The state machine is cloudlet's: its 409 is Nova's conflictingRequest.
func (s *Server) serverAction(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || len(body) != 1 {
		novaError(w, http.StatusBadRequest, "the body must be an object with exactly one action")
		return
	}
	inst, ok := findServer(w, r, api)
	if !ok {
		return
	}
	for name, args := range body {
		if verb, ok := simpleActions[name]; ok {
			s.act(w, r, api, inst, verb, nil)
			return
		}
		handler, ok := map[string]func(http.ResponseWriter, *http.Request, *client.Client, compute.Instance, json.RawMessage){
			"reboot": s.rebootServer, "rebuild": s.rebuildServer, "resize": s.resizeServer,
			"confirmResize": s.confirmResize, "revertResize": s.revertResize,
			"os-getConsoleOutput": s.consoleOutput, "os-getVNCConsole": s.vncConsole,
		}[name]
		if !ok {
			novaError(w, http.StatusBadRequest, "Action "+name+" is not supported by cloudlet")
			return
		}
		handler(w, r, api, inst, args)
	}
}

// act runs an /api/v1 instance verb and answers 202 with no body (Nova's answer to most actions).
func (s *Server) act(w http.ResponseWriter, r *http.Request, api *client.Client, inst compute.Instance, verb string, args any) {
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/instances/"+inst.ID+"/"+verb, args, nil); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// decodeArgs decodes an action's arguments strictly; false after writing the 400.
func decodeArgs(w http.ResponseWriter, raw json.RawMessage, out any) bool {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		novaError(w, http.StatusBadRequest, "Invalid input for the action's arguments: "+err.Error())
		return false
	}
	return true
}

// rebootServer: type SOFT is cloudlet's reboot (ACPI), HARD its hard-reboot (a reset).
func (s *Server) rebootServer(w http.ResponseWriter, r *http.Request, api *client.Client, inst compute.Instance, raw json.RawMessage) {
	var args struct {
		Type string `json:"type"`
	}
	if !decodeArgs(w, raw, &args) {
		return
	}
	switch strings.ToUpper(args.Type) {
	case "SOFT":
		s.act(w, r, api, inst, string(compute.ActReboot), nil)
	case "HARD":
		s.act(w, r, api, inst, string(compute.ActHardReset), nil)
	default:
		novaError(w, http.StatusBadRequest, "reboot type must be SOFT or HARD")
	}
}

// rebuildServer rebuilds on imageRef (and replaces the metadata or password given); Nova answers
// 202 with the server.
func (s *Server) rebuildServer(w http.ResponseWriter, r *http.Request, api *client.Client, inst compute.Instance, raw json.RawMessage) {
	var args struct {
		ImageRef    string            `json:"imageRef"`
		Name        string            `json:"name"`
		Metadata    map[string]string `json:"metadata"`
		AdminPass   string            `json:"adminPass"`
		AccessIPv4  string            `json:"accessIPv4"`
		AccessIPv6  string            `json:"accessIPv6"`
		DiskConfig  string            `json:"OS-DCF:diskConfig"`
		Preserve    bool              `json:"preserve_ephemeral"`
		Personality []map[string]any  `json:"personality"`
	}
	if !decodeArgs(w, raw, &args) {
		return
	}
	if args.ImageRef == "" || args.Name != "" && args.Name != inst.Name {
		novaError(w, http.StatusBadRequest, "rebuild needs imageRef, and cloudlet cannot rename a server")
		return
	}
	if args.AdminPass == "" {
		args.AdminPass = generatedPassword()
	}
	var out compute.Instance
	err := api.Do(r.Context(), http.MethodPost, "/api/v1/instances/"+inst.ID+"/rebuild",
		compute.ActionArgs{Image: refID(args.ImageRef), Metadata: args.Metadata, Password: args.AdminPass}, &out)
	if err != nil {
		status, msg := apiStatus(err)
		if status == http.StatusNotFound {
			status = http.StatusBadRequest // an unknown image, as Nova says it
		}
		novaError(w, status, msg)
		return
	}
	v := s.serverView(r, out, readServerContext(r, api, false))
	v["adminPass"] = args.AdminPass
	for _, k := range []string{"OS-EXT-STS:vm_state", "OS-EXT-STS:task_state", "OS-EXT-STS:power_state",
		"OS-EXT-AZ:availability_zone", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "key_name",
		"security_groups", "config_drive"} {
		delete(v, k) // tempest's rebuild schema is the common server's, without the detail keys
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"server": v})
}

// resizeServer is cloudlet's resize, which needs the server stopped and completes by itself (there
// is no VERIFY_RESIZE): its refusal of a running server is the 409.
func (s *Server) resizeServer(w http.ResponseWriter, r *http.Request, api *client.Client, inst compute.Instance, raw json.RawMessage) {
	var args struct {
		FlavorRef  string `json:"flavorRef"`
		DiskConfig string `json:"OS-DCF:diskConfig"`
	}
	if !decodeArgs(w, raw, &args) {
		return
	}
	if args.FlavorRef == "" {
		novaError(w, http.StatusBadRequest, "resize needs flavorRef")
		return
	}
	s.act(w, r, api, inst, string(compute.ActResize), compute.ActionArgs{Flavor: refID(args.FlavorRef)})
}

// confirmResize: cloudlet's resizes confirm themselves, so there is nothing left to confirm once
// one ended (204, Nova's answer); while one runs it is the 409 of a server not yet resized.
func (s *Server) confirmResize(w http.ResponseWriter, _ *http.Request, _ *client.Client, inst compute.Instance, _ json.RawMessage) {
	if inst.TaskState == compute.TaskResizing {
		novaError(w, http.StatusConflict, "Instance "+inst.ID+" is still resizing")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// revertResize cannot be: cloudlet keeps no copy of the old size.
func (s *Server) revertResize(w http.ResponseWriter, _ *http.Request, _ *client.Client, inst compute.Instance, _ json.RawMessage) {
	novaError(w, http.StatusConflict, "cloudlet confirms resizes itself; instance "+inst.ID+" has no resize to revert")
}
