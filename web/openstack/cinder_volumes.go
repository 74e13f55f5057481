package openstack

import (
	"net/http"
	"net/url"
	"time"

	"cloudlet/appliance/volume"
)

func (s *Server) registerCinderVolumes(mux *http.ServeMux) {
	cinderRoute(mux, http.MethodGet, "/volumes", s.listVolumes(false))
	cinderRoute(mux, http.MethodGet, "/volumes/detail", s.listVolumes(true))
	cinderRoute(mux, http.MethodPost, "/volumes", s.createVolume)
	cinderRoute(mux, http.MethodGet, "/volumes/{id}", s.showVolume)
	cinderRoute(mux, http.MethodPut, "/volumes/{id}", s.updateVolume)
	cinderRoute(mux, http.MethodDelete, "/volumes/{id}", s.deleteVolume)
	cinderRoute(mux, http.MethodPost, "/volumes/{id}/action", s.volumeAction)
}

// cinderTime is Cinder's time format: microseconds and no zone (gophercloud parses exactly this).
func cinderTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// nullIfEmpty is s, or JSON null for "".
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// cinderLinks are a resource's self and bookmark links.
func cinderLinks(c *cinderCall, collection, id string) []map[string]string {
	return []map[string]string{{"rel": "self", "href": c.links + "/" + collection + "/" + id},
		{"rel": "bookmark", "href": c.links + "/" + collection + "/" + id}}
}

// volumeView is a volume in Cinder 3.0's shape; brief lists carry only id, name and links.
// cloudlet's statuses are Cinder's words already. A volume is a project's in cloudlet, not a
// user's: user_id is the caller's.
func volumeView(c *cinderCall, v volume.Volume, detail bool) map[string]any {
	out := map[string]any{"id": v.ID, "name": v.Name, "links": cinderLinks(c, "volumes", v.ID)}
	if !detail {
		return out
	}
	meta := v.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	bootable := "false"
	if v.Bootable {
		bootable = "true"
	}
	snapshot := v.Source.SnapshotID
	if v.Source.VolumeID != "" {
		snapshot = "" // a clone's snapshot is cloudlet's means, not the volume's source
	}
	for k, val := range map[string]any{
		"size": v.SizeGiB, "status": v.Status, "availability_zone": availabilityZone, "bootable": bootable,
		"created_at": cinderTime(v.CreatedAt), "updated_at": cinderTime(v.UpdatedAt),
		"description": nullIfEmpty(v.Description), "volume_type": defaultVolumeType, "metadata": meta,
		"snapshot_id": nullIfEmpty(snapshot), "source_volid": nullIfEmpty(v.Source.VolumeID),
		"multiattach": false, "encrypted": false, "replication_status": nil, "consistencygroup_id": nil,
		"migration_status": nil, "user_id": c.who.UserID, "os-vol-tenant-attr:tenant_id": v.ProjectID,
		"attachments": volumeAttachments(v),
	} {
		out[k] = val
	}
	if v.Source.ImageID != "" {
		out["volume_image_metadata"] = map[string]string{"image_id": v.Source.ImageID}
	}
	return out
}

// changedVolumeView is a volume as Cinder's create and update answer it: the detailed view without
// the tenant and image attributes, which only show and detail carry (tempest's schemas refuse them).
func changedVolumeView(c *cinderCall, v volume.Volume) map[string]any {
	out := volumeView(c, v, true)
	delete(out, "os-vol-tenant-attr:tenant_id")
	delete(out, "volume_image_metadata")
	return out
}

// volumeAttachments is the volume's one attachment, once attached (a reservation is not one). Its
// ids are the volume's: cloudlet has one attachment per volume and no id of its own for it (Nova
// 2.1 names attachments by volume ID too).
func volumeAttachments(v volume.Volume) []map[string]any {
	a := v.Attachment
	if a == nil || a.Device == "" {
		return []map[string]any{}
	}
	return []map[string]any{{"server_id": a.InstanceID, "attachment_id": v.ID, "volume_id": v.ID, "id": v.ID,
		"device": "/dev/" + a.Device, "host_name": nil, "attached_at": nil}}
}

// listVolumes lists the project's volumes, filtered by any attribute of the detailed view (name,
// status, bootable…) and paged by limit and marker. all_tenants names no attribute and does not filter: cloudlet lists the
// token's project, admin or not.
func (s *Server) listVolumes(detail bool) cinderHandler {
	return func(w http.ResponseWriter, r *http.Request, c *cinderCall) {
		var list []volume.Volume
		if err := c.api.Do(r.Context(), http.MethodGet, "/api/v1/volumes", nil, &list); err != nil {
			cinderAPIError(w, err)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for _, v := range list {
			if matches(volumeView(c, v, true), r.URL.Query()) {
				out = append(out, volumeView(c, v, detail))
			}
		}
		out, status, msg := pageCinder(out, r.URL.Query())
		if status != 0 {
			novaError(w, status, msg)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"volumes": out})
	}
}

// findVolume reads the volume of the path's id. /api/v1 also takes names; Cinder does not, and
// the clients rely on a 404 to look a name up in the list.
func findVolume(w http.ResponseWriter, r *http.Request, c *cinderCall) (volume.Volume, bool) {
	id := r.PathValue("id")
	var v volume.Volume
	if !isID(id) {
		novaError(w, http.StatusNotFound, "Volume "+id+" could not be found.")
		return v, false
	}
	if err := c.api.Do(r.Context(), http.MethodGet, "/api/v1/volumes/"+url.PathEscape(id), nil, &v); err != nil {
		cinderAPIError(w, err)
		return v, false
	}
	return v, true
}

func (s *Server) showVolume(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	if v, ok := findVolume(w, r, c); ok {
		writeJSON(w, http.StatusOK, map[string]any{"volume": volumeView(c, v, true)})
	}
}

// volumeUpdate is PUT /volumes/{id}: name and description (or their v1 names) and metadata.
type volumeUpdate struct {
	Volume *struct {
		Name               *string           `json:"name"`
		Description        *string           `json:"description"`
		DisplayName        *string           `json:"display_name"`
		DisplayDescription *string           `json:"display_description"`
		Metadata           map[string]string `json:"metadata"`
	} `json:"volume"`
}

// updateVolume renames, describes or sets the metadata of a volume (PATCH /api/v1/volumes/{id}).
func (s *Server) updateVolume(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	var body volumeUpdate
	if err := decodeLenientBody(r, &body); err != nil || body.Volume == nil {
		novaError(w, http.StatusBadRequest, "Invalid volume update: "+describeBodyError(err))
		return
	}
	v, ok := findVolume(w, r, c)
	if !ok {
		return
	}
	u := volume.UpdateRequest{Name: firstSet(body.Volume.Name, body.Volume.DisplayName),
		Description: firstSet(body.Volume.Description, body.Volume.DisplayDescription), Metadata: body.Volume.Metadata}
	if u.Name == nil && u.Description == nil && u.Metadata == nil {
		novaError(w, http.StatusBadRequest, "Invalid volume update: give name, description or metadata")
		return
	}
	if err := c.api.Do(r.Context(), http.MethodPatch, "/api/v1/volumes/"+v.ID, u, &v); err != nil {
		cinderAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"volume": changedVolumeView(c, v)})
}

// firstSet is the first of its arguments that is set.
func firstSet(ps ...*string) *string {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

// deleteVolume answers 202. What Cinder calls an invalid volume (attached, with snapshots, busy)
// is a conflict in /api/v1: 400 here, as Cinder answers it.
func (s *Server) deleteVolume(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	v, ok := findVolume(w, r, c)
	if !ok {
		return
	}
	if err := c.api.Do(r.Context(), http.MethodDelete, "/api/v1/volumes/"+v.ID, nil, nil); err != nil {
		status, msg := apiStatus(err)
		if status == http.StatusConflict {
			status, msg = http.StatusBadRequest, "Invalid volume: "+msg
		}
		novaError(w, status, msg)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
