package openstack

import (
	"net/http"

	"cloudlet/appliance/identity"
)

func (s *Server) registerCinderMisc(mux *http.ServeMux) {
	cinderRoute(mux, http.MethodGet, "/types", s.listVolumeTypes)
	cinderRoute(mux, http.MethodGet, "/types/{id}", s.showVolumeType)
	cinderRoute(mux, http.MethodGet, "/limits", s.volumeLimits)
	cinderRoute(mux, http.MethodGet, "/os-availability-zone", s.volumeZones)
	cinderRoute(mux, http.MethodGet, "/os-quota-sets/{project}", s.volumeQuotaSet)
}

// The one volume type: cloudlet's volumes are all alike (qcow2 in a pool). Its name is Cinder's
// default type's; its ID is fixed.
const (
	defaultVolumeType   = "__DEFAULT__"
	defaultVolumeTypeID = "5f2a3c1e-8d4b-4e6f-9a7c-0b1d2e3f4a5b"
)

func volumeTypeView() map[string]any {
	return map[string]any{"id": defaultVolumeTypeID, "name": defaultVolumeType, "description": "Default Volume Type",
		"is_public": true, "os-volume-type-access:is_public": true, "extra_specs": map[string]string{}, "qos_specs_id": nil}
}

func (s *Server) listVolumeTypes(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	writeJSON(w, http.StatusOK, map[string]any{"volume_types": []any{volumeTypeView()}})
}

// showVolumeType answers the type by ID, by name, or as "default"; anything else is 404.
func (s *Server) showVolumeType(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	switch id := r.PathValue("id"); id {
	case defaultVolumeTypeID, defaultVolumeType, "default":
		writeJSON(w, http.StatusOK, map[string]any{"volume_type": volumeTypeView()})
	default:
		novaError(w, http.StatusNotFound, "Volume type "+id+" could not be found.")
	}
}

// volumeLimits is GET /limits: the project's volume quotas and usage; cloudlet has no backups.
func (s *Server) volumeLimits(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	rep, ok := readQuotas(w, r, c.api, "", novaError)
	if !ok {
		return
	}
	q := rep.Quotas
	abs := map[string]any{
		"maxTotalVolumes": q[identity.QuotaVolumes].Limit, "totalVolumesUsed": q[identity.QuotaVolumes].InUse,
		"maxTotalSnapshots": q[identity.QuotaSnapshots].Limit, "totalSnapshotsUsed": q[identity.QuotaSnapshots].InUse,
		"maxTotalVolumeGigabytes": q[identity.QuotaGigabytes].Limit, "totalGigabytesUsed": q[identity.QuotaGigabytes].InUse,
		"maxTotalBackups": 0, "totalBackupsUsed": 0, "maxTotalBackupGigabytes": 0, "totalBackupGigabytesUsed": 0,
	}
	writeJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"absolute": abs, "rate": []any{}}})
}

// volumeZones is Cinder's GET /os-availability-zone: the one zone.
func (s *Server) volumeZones(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	writeJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": []any{map[string]any{
		"zoneName": availabilityZone, "zoneState": map[string]bool{"available": true}}}})
}

// volumeQuotaSet is Cinder's GET /os-quota-sets/{project}: the project's volume limits (another
// project's is 404 for a non-admin, as /api/v1 answers); cloudlet has no backups or groups.
func (s *Server) volumeQuotaSet(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	rep, ok := readQuotas(w, r, c.api, r.PathValue("project"), novaError)
	if !ok {
		return
	}
	q := rep.Quotas
	writeJSON(w, http.StatusOK, map[string]any{"quota_set": map[string]any{"id": rep.ProjectID,
		"volumes": q[identity.QuotaVolumes].Limit, "snapshots": q[identity.QuotaSnapshots].Limit,
		"gigabytes": q[identity.QuotaGigabytes].Limit, "volumes_" + defaultVolumeType: q[identity.QuotaVolumes].Limit,
		"snapshots_" + defaultVolumeType: q[identity.QuotaSnapshots].Limit, "gigabytes_" + defaultVolumeType: q[identity.QuotaGigabytes].Limit,
		"backups": 0, "backup_gigabytes": 0, "groups": 0, "per_volume_gigabytes": -1}})
}
