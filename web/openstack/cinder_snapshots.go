package openstack

import (
	"net/http"
	"net/url"
	"strings"

	"cloudlet/appliance/volume"
)

func (s *Server) registerCinderSnapshots(mux *http.ServeMux) {
	cinderRoute(mux, http.MethodGet, "/snapshots", s.listSnapshots(false))
	cinderRoute(mux, http.MethodGet, "/snapshots/detail", s.listSnapshots(true))
	cinderRoute(mux, http.MethodPost, "/snapshots", s.createSnapshot)
	cinderRoute(mux, http.MethodGet, "/snapshots/{id}", s.showSnapshot)
	cinderRoute(mux, http.MethodPut, "/snapshots/{id}", s.updateSnapshot)
	cinderRoute(mux, http.MethodDelete, "/snapshots/{id}", s.deleteSnapshot)
}

// snapshotView is a snapshot in Cinder 3.0's shape, which has no links; show and detail add the
// extended attributes (progress, project). cloudlet's snapshots have no metadata: it is empty.
func snapshotView(sn volume.Snapshot, detail bool) map[string]any {
	v := map[string]any{"id": sn.ID, "name": sn.Name, "description": nullIfEmpty(sn.Description), "volume_id": sn.VolumeID,
		"size": sn.SizeGiB, "status": sn.Status, "created_at": cinderTime(sn.CreatedAt),
		"updated_at": cinderTime(sn.UpdatedAt), "metadata": map[string]string{}}
	if detail {
		v["os-extended-snapshot-attributes:progress"] = "100%"
		v["os-extended-snapshot-attributes:project_id"] = sn.ProjectID
	}
	return v
}

// listSnapshots lists the project's snapshots, filtered by any attribute (name, status,
// volume_id…) and paged by limit and marker.
func (s *Server) listSnapshots(detail bool) cinderHandler {
	return func(w http.ResponseWriter, r *http.Request, c *cinderCall) {
		var list []volume.Snapshot
		if err := c.api.Do(r.Context(), http.MethodGet, "/api/v1/snapshots", nil, &list); err != nil {
			cinderAPIError(w, err)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for _, sn := range list {
			if matches(snapshotView(sn, true), r.URL.Query()) {
				out = append(out, snapshotView(sn, detail))
			}
		}
		out, status, msg := pageCinder(out, r.URL.Query())
		if status != 0 {
			novaError(w, status, msg)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"snapshots": out})
	}
}

// snapshotCreate is POST /snapshots. force is accepted either way: cloudlet snapshots an attached
// volume through its QEMU.
type snapshotCreate struct {
	Snapshot *struct {
		VolumeID           string            `json:"volume_id"`
		Name               *string           `json:"name"`
		DisplayName        *string           `json:"display_name"`
		Description        *string           `json:"description"`
		DisplayDescription *string           `json:"display_description"`
		Metadata           map[string]string `json:"metadata"`
		Force              any               `json:"force"`
	} `json:"snapshot"`
}

// createSnapshot snapshots a volume (POST /api/v1/volumes/{id}/snapshots); Cinder answers 202.
func (s *Server) createSnapshot(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	var body snapshotCreate
	if err := decodeLenientBody(r, &body); err != nil || body.Snapshot == nil {
		novaError(w, http.StatusBadRequest, "Invalid input received: "+describeBodyError(err))
		return
	}
	b := body.Snapshot
	if !isID(b.VolumeID) {
		novaError(w, http.StatusNotFound, "Volume "+b.VolumeID+" could not be found.")
		return
	}
	if len(b.Metadata) > 0 {
		novaError(w, http.StatusBadRequest, "Invalid input received: cloudlet's snapshots take no metadata")
		return
	}
	name := "snapshot-" + strings.TrimPrefix(generatedVolumeName(), "volume-")
	if n := firstSet(b.Name, b.DisplayName); set(n) {
		name = *n
	}
	var sn volume.Snapshot
	err := c.api.Do(r.Context(), http.MethodPost, "/api/v1/volumes/"+b.VolumeID+"/snapshots", map[string]string{"name": name}, &sn)
	if d := firstSet(b.Description, b.DisplayDescription); err == nil && set(d) {
		err = c.api.Do(r.Context(), http.MethodPatch, "/api/v1/snapshots/"+sn.ID, volume.SnapshotUpdate{Description: d}, &sn)
	}
	if err != nil {
		cinderAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"snapshot": snapshotView(sn, false)})
}

// findSnapshot reads the snapshot of the path's id; a name is 404, as for volumes.
func findSnapshot(w http.ResponseWriter, r *http.Request, c *cinderCall) (volume.Snapshot, bool) {
	id := r.PathValue("id")
	var sn volume.Snapshot
	if !isID(id) {
		novaError(w, http.StatusNotFound, "Snapshot "+id+" could not be found.")
		return sn, false
	}
	if err := c.api.Do(r.Context(), http.MethodGet, "/api/v1/snapshots/"+url.PathEscape(id), nil, &sn); err != nil {
		cinderAPIError(w, err)
		return sn, false
	}
	return sn, true
}

func (s *Server) showSnapshot(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	if sn, ok := findSnapshot(w, r, c); ok {
		writeJSON(w, http.StatusOK, map[string]any{"snapshot": snapshotView(sn, true)})
	}
}

// updateSnapshot renames or describes a snapshot (PATCH /api/v1/snapshots/{id}).
func (s *Server) updateSnapshot(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	var body snapshotCreate
	if err := decodeLenientBody(r, &body); err != nil || body.Snapshot == nil {
		novaError(w, http.StatusBadRequest, "Invalid input received: "+describeBodyError(err))
		return
	}
	sn, ok := findSnapshot(w, r, c)
	if !ok {
		return
	}
	b := body.Snapshot
	u := volume.SnapshotUpdate{Name: firstSet(b.Name, b.DisplayName), Description: firstSet(b.Description, b.DisplayDescription)}
	if len(b.Metadata) > 0 || u.Name == nil && u.Description == nil {
		novaError(w, http.StatusBadRequest, "Invalid input received: give name or description (cloudlet's snapshots take no metadata)")
		return
	}
	if err := c.api.Do(r.Context(), http.MethodPatch, "/api/v1/snapshots/"+sn.ID, u, &sn); err != nil {
		cinderAPIError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"snapshot": snapshotView(sn, false)})
}

// deleteSnapshot answers 202; a snapshot something depends on is Cinder's 400 "invalid snapshot".
func (s *Server) deleteSnapshot(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	sn, ok := findSnapshot(w, r, c)
	if !ok {
		return
	}
	if err := c.api.Do(r.Context(), http.MethodDelete, "/api/v1/snapshots/"+sn.ID, nil, nil); err != nil {
		status, msg := apiStatus(err)
		if status == http.StatusConflict {
			status, msg = http.StatusBadRequest, "Invalid snapshot: "+msg
		}
		novaError(w, status, msg)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
