package openstack

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"cloudlet/appliance/compute"
	"cloudlet/web/client"
)

// consoleLogBytes is how much of the serial log os-getConsoleOutput reads before it keeps the last
// lines asked for.
const consoleLogBytes = 256 << 10

// consoleOutput serves os-getConsoleOutput {length}: 200 {"output"} with the last length lines of
// cloudlet's serial console log (all it read when length is absent or -1).
func (s *Server) consoleOutput(w http.ResponseWriter, r *http.Request, api *client.Client, inst compute.Instance, raw json.RawMessage) {
	var args struct {
		Length any `json:"length"`
	}
	if !decodeArgs(w, raw, &args) {
		return
	}
	lines, err := consoleLength(args.Length)
	if err != nil {
		novaError(w, http.StatusBadRequest, err.Error())
		return
	}
	body, err := api.Stream(r.Context(), http.MethodGet,
		"/api/v1/instances/"+inst.ID+"/console-log?bytes="+strconv.Itoa(consoleLogBytes))
	if err != nil {
		writeAPIError(w, err)
		return
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, consoleLogBytes+1))
	if err != nil {
		novaError(w, http.StatusBadGateway, "read the console log: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"output": lastLines(string(data), lines)})
}

// consoleLength reads length: a number or numeric string; absent or negative means all.
func consoleLength(v any) (int, error) {
	switch x := v.(type) {
	case nil:
		return -1, nil
	case float64:
		return int(x), nil
	case string:
		n, err := strconv.Atoi(x)
		if err != nil {
			return 0, invalidInput("length must be an integer")
		}
		return n, nil
	}
	return 0, invalidInput("length must be an integer")
}

// lastLines is the last n lines of text (all of it when n < 0).
func lastLines(text string, n int) string {
	if n < 0 {
		return text
	}
	lines := strings.SplitAfter(text, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if n < len(lines) {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// vncURL asks /api/v1 for a one-time VNC ticket and returns its URL on this listener.
func (s *Server) vncURL(w http.ResponseWriter, r *http.Request, api *client.Client, inst compute.Instance) (string, bool) {
	var ticket struct {
		URL string `json:"url"`
	}
	err := api.Do(r.Context(), http.MethodPost, "/api/v1/instances/"+inst.ID+"/console-tickets",
		map[string]string{"kind": "vnc"}, &ticket)
	if err != nil {
		writeAPIError(w, err)
		return "", false
	}
	return s.baseURL(r) + ticket.URL, true
}

// vncConsole serves the legacy os-getVNCConsole {type: novnc}, which openstack console url show
// sends at 2.1: 200 {"console":{"type","url"}} with cloudlet's ticketed VNC URL.
func (s *Server) vncConsole(w http.ResponseWriter, r *http.Request, api *client.Client, inst compute.Instance, raw json.RawMessage) {
	var args struct {
		Type string `json:"type"`
	}
	if !decodeArgs(w, raw, &args) {
		return
	}
	if args.Type != "novnc" && args.Type != "xvpvnc" {
		novaError(w, http.StatusBadRequest, "console type must be novnc")
		return
	}
	if url, ok := s.vncURL(w, r, api, inst); ok {
		writeJSON(w, http.StatusOK, map[string]any{"console": map[string]string{"type": args.Type, "url": url}})
	}
}

// remoteConsole serves POST /servers/{id}/remote-consoles (2.6's; served at 2.1 too) for VNC.
func (s *Server) remoteConsole(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var body struct {
		RemoteConsole struct {
			Protocol string `json:"protocol"`
			Type     string `json:"type"`
		} `json:"remote_console"`
	}
	if err := decodeStrict(r, &body); err != nil {
		novaError(w, http.StatusBadRequest, err.Error())
		return
	}
	rc := body.RemoteConsole
	if rc.Protocol != "vnc" || rc.Type != "novnc" {
		novaError(w, http.StatusBadRequest, "cloudlet serves remote consoles of protocol vnc, type novnc")
		return
	}
	inst, ok := findServer(w, r, api)
	if !ok {
		return
	}
	if url, ok := s.vncURL(w, r, api, inst); ok {
		writeJSON(w, http.StatusOK, map[string]any{"remote_console": map[string]string{
			"protocol": rc.Protocol, "type": rc.Type, "url": url}})
	}
}
