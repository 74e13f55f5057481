package openstack

import (
	"net/http"
	"net/url"

	"cloudlet/appliance/compute"
	"cloudlet/appliance/volume"
	"cloudlet/web/client"
)

// attachmentView is a volume attachment in Nova 2.1's shape; its id is the volume's.
func attachmentView(inst compute.Instance, v volume.Volume) map[string]any {
	var device any
	if v.Attachment != nil && v.Attachment.Device != "" {
		device = "/dev/" + v.Attachment.Device
	}
	return map[string]any{"id": v.ID, "serverId": inst.ID, "volumeId": v.ID, "device": device}
}

// serverVolumes reads the server's attached volumes; false after writing the error.
func serverVolumes(w http.ResponseWriter, r *http.Request, api *client.Client) (compute.Instance, []volume.Volume, bool) {
	inst, ok := findServer(w, r, api)
	if !ok {
		return inst, nil, false
	}
	var vols []volume.Volume
	if err := api.Do(r.Context(), http.MethodGet, "/api/v1/volumes", nil, &vols); err != nil {
		writeAPIError(w, err)
		return inst, nil, false
	}
	return inst, attachedVolumes(inst, vols), true
}

// listVolumeAttachments serves GET /servers/{id}/os-volume_attachments.
func (s *Server) listVolumeAttachments(w http.ResponseWriter, r *http.Request, api *client.Client) {
	inst, vols, ok := serverVolumes(w, r, api)
	if !ok {
		return
	}
	out := make([]map[string]any, 0, len(vols))
	for _, v := range vols {
		out = append(out, attachmentView(inst, v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"volumeAttachments": out})
}

// attachedVolume is the path's volume among the server's, or Nova's 404.
func attachedVolume(w http.ResponseWriter, r *http.Request, api *client.Client) (compute.Instance, volume.Volume, bool) {
	inst, vols, ok := serverVolumes(w, r, api)
	if !ok {
		return inst, volume.Volume{}, false
	}
	for _, v := range vols {
		if v.ID == r.PathValue("volume") {
			return inst, v, true
		}
	}
	novaError(w, http.StatusNotFound, "volume "+r.PathValue("volume")+" is not attached to instance "+inst.ID)
	return inst, volume.Volume{}, false
}

// showVolumeAttachment serves GET /servers/{id}/os-volume_attachments/{volume}.
func (s *Server) showVolumeAttachment(w http.ResponseWriter, r *http.Request, api *client.Client) {
	if inst, v, ok := attachedVolume(w, r, api); ok {
		writeJSON(w, http.StatusOK, map[string]any{"volumeAttachment": attachmentView(inst, v)})
	}
}

// attachServerVolume serves POST os-volume_attachments {"volumeAttachment":{"volumeId"}} through
// cloudlet's attach (a hotplug when the server runs): 200 with the attachment. An unknown volume
// is Nova's 404; device names are cloudlet's to choose.
func (s *Server) attachServerVolume(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var body struct {
		VolumeAttachment struct {
			VolumeID            string `json:"volumeId"`
			Device              any    `json:"device"`
			DeleteOnTermination bool   `json:"delete_on_termination"`
			Tag                 string `json:"tag"`
		} `json:"volumeAttachment"`
	}
	if err := decodeStrict(r, &body); err != nil || body.VolumeAttachment.VolumeID == "" {
		novaError(w, http.StatusBadRequest, "volumeAttachment.volumeId is required")
		return
	}
	inst, ok := findServer(w, r, api)
	if !ok {
		return
	}
	id := body.VolumeAttachment.VolumeID
	var v volume.Volume
	err := api.Do(r.Context(), http.MethodGet, "/api/v1/volumes/"+url.PathEscape(id), nil, &v)
	if err == nil && v.ID != id || isNotFound(err) {
		novaError(w, http.StatusNotFound, "Volume "+id+" could not be found.") // ids only, as in Nova
		return
	}
	if err == nil {
		err = api.Do(r.Context(), http.MethodPost, "/api/v1/volumes/"+v.ID+"/attach",
			map[string]any{"instance": inst.ID, "delete_on_termination": body.VolumeAttachment.DeleteOnTermination}, &v)
	}
	if err != nil {
		writeAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"volumeAttachment": attachmentView(inst, v)})
}

// detachServerVolume serves DELETE os-volume_attachments/{volume}: 202 once cloudlet detached it.
func (s *Server) detachServerVolume(w http.ResponseWriter, r *http.Request, api *client.Client) {
	_, v, ok := attachedVolume(w, r, api)
	if !ok {
		return
	}
	if v.Attachment.Boot {
		novaError(w, http.StatusBadRequest, "cannot detach the server's boot volume "+v.ID)
		return
	}
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/volumes/"+v.ID+"/detach", nil, nil); err != nil {
		writeAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// serverIPs serves GET /servers/{id}/ips: {"addresses"} keyed by network name.
func (s *Server) serverIPs(w http.ResponseWriter, r *http.Request, api *client.Client) {
	if inst, ok := findServer(w, r, api); ok {
		writeJSON(w, http.StatusOK, map[string]any{"addresses": serverAddresses(inst, readServerContext(r, api, false), false)})
	}
}

// serverNetworkIPs serves GET /servers/{id}/ips/{network}: the addresses on that network (by
// name), 404 when the server has none there.
func (s *Server) serverNetworkIPs(w http.ResponseWriter, r *http.Request, api *client.Client) {
	inst, ok := findServer(w, r, api)
	if !ok {
		return
	}
	name := r.PathValue("network")
	addrs, ok := serverAddresses(inst, readServerContext(r, api, false), false)[name]
	if !ok {
		novaError(w, http.StatusNotFound, "Instance "+inst.ID+" has no address on network "+name)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{name: addrs})
}

// serverMetadata serves GET /servers/{id}/metadata (cloudlet sets metadata at create and rebuild).
func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request, api *client.Client) {
	inst, ok := findServer(w, r, api)
	if !ok {
		return
	}
	meta := inst.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"metadata": meta})
}

// serverMetadataItem serves GET /servers/{id}/metadata/{key}: {"meta":{key:value}}, or 404.
func (s *Server) serverMetadataItem(w http.ResponseWriter, r *http.Request, api *client.Client) {
	inst, ok := findServer(w, r, api)
	if !ok {
		return
	}
	key := r.PathValue("key")
	val, ok := inst.Metadata[key]
	if !ok {
		novaError(w, http.StatusNotFound, "Metadata item was not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"meta": map[string]string{key: val}})
}
