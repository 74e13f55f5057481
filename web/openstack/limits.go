package openstack

import (
	"net/http"
	"net/url"

	"cloudlet/appliance/identity"
	"cloudlet/web/client"
)

// Nova's limits, availability zones and quota sets: cloudlet's quota report (GET /api/v1/quotas)
// in Nova's words. cloudlet has one zone, which Nova calls "nova".
func (s *Server) registerComputeLimits() {
	s.handle(http.MethodGet, "/compute/v2.1/limits", s.nova(s.computeLimits))
	s.handle(http.MethodGet, "/compute/v2.1/os-availability-zone", s.nova(s.availabilityZones))
	s.handle(http.MethodGet, "/compute/v2.1/os-quota-sets/{project}", s.nova(s.computeQuotaSet))
}

// availabilityZone is the one zone's name, as Nova and Cinder call their default.
const availabilityZone = "nova"

// serverMetadataItems is how many metadata items an instance may carry (compute's
// maxMetadataItems); personality files and server groups cloudlet does not have: 0.
const serverMetadataItems = 128

// quotaNames pairs Nova's quota-set keys with cloudlet's quota resources.
var novaQuotaNames = []struct{ nova, cloudlet string }{
	{"instances", identity.QuotaInstances}, {"cores", identity.QuotaCores}, {"ram", identity.QuotaRAM},
	{"key_pairs", identity.QuotaKeypairs}, {"floating_ips", identity.QuotaFloatingIPs},
	{"security_groups", identity.QuotaSecurityGroups}, {"security_group_rules", identity.QuotaSecurityGroupRules},
}

// readQuotas reads a project's quota report ("" for the caller's own), answering errors in Nova's
// shape; false when it did.
func readQuotas(w http.ResponseWriter, r *http.Request, api *client.Client, project string,
	fail func(http.ResponseWriter, int, string)) (identity.QuotaReport, bool) {
	path := "/api/v1/quotas"
	if project != "" {
		path += "/" + url.PathEscape(project)
	}
	var rep identity.QuotaReport
	if err := api.Do(r.Context(), http.MethodGet, path, nil, &rep); err != nil {
		status, msg := apiStatus(err)
		fail(w, status, msg)
		return rep, false
	}
	return rep, true
}

// computeLimits is GET /limits: the absolute limits and usage of the caller's project; no rate
// limits (Nova has had none since 2.x either).
func (s *Server) computeLimits(w http.ResponseWriter, r *http.Request, api *client.Client) {
	rep, ok := readQuotas(w, r, api, "", novaError)
	if !ok {
		return
	}
	q := rep.Quotas
	abs := map[string]any{
		"maxTotalInstances": q[identity.QuotaInstances].Limit, "totalInstancesUsed": q[identity.QuotaInstances].InUse,
		"maxTotalCores": q[identity.QuotaCores].Limit, "totalCoresUsed": q[identity.QuotaCores].InUse,
		"maxTotalRAMSize": q[identity.QuotaRAM].Limit, "totalRAMUsed": q[identity.QuotaRAM].InUse,
		"maxTotalKeypairs":        q[identity.QuotaKeypairs].Limit,
		"maxTotalFloatingIps":     q[identity.QuotaFloatingIPs].Limit,
		"totalFloatingIpsUsed":    q[identity.QuotaFloatingIPs].InUse,
		"maxSecurityGroups":       q[identity.QuotaSecurityGroups].Limit,
		"totalSecurityGroupsUsed": q[identity.QuotaSecurityGroups].InUse,
		"maxSecurityGroupRules":   q[identity.QuotaSecurityGroupRules].Limit,
		"maxServerMeta":           serverMetadataItems, "maxImageMeta": serverMetadataItems,
		"maxPersonality": 0, "maxPersonalitySize": 0,
		"maxServerGroups": 0, "maxServerGroupMembers": 0, "totalServerGroupsUsed": 0,
	}
	writeJSON(w, http.StatusOK, map[string]any{"limits": map[string]any{"absolute": abs, "rate": []any{}}})
}

// availabilityZones is GET /os-availability-zone: the one zone, available.
func (s *Server) availabilityZones(w http.ResponseWriter, r *http.Request, api *client.Client) {
	writeJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": []any{map[string]any{
		"zoneName": availabilityZone, "zoneState": map[string]bool{"available": true}, "hosts": nil}}})
}

// computeQuotaSet is GET /os-quota-sets/{project}: the project's limits (another project's is 404
// for a non-admin, as /api/v1 answers).
func (s *Server) computeQuotaSet(w http.ResponseWriter, r *http.Request, api *client.Client) {
	rep, ok := readQuotas(w, r, api, r.PathValue("project"), novaError)
	if !ok {
		return
	}
	set := map[string]any{"id": rep.ProjectID, "metadata_items": serverMetadataItems, "injected_files": 0,
		"injected_file_content_bytes": 0, "injected_file_path_bytes": 0, "server_groups": 0, "server_group_members": 0,
		"fixed_ips": -1}
	for _, n := range novaQuotaNames {
		set[n.nova] = rep.Quotas[n.cloudlet].Limit
	}
	writeJSON(w, http.StatusOK, map[string]any{"quota_set": set})
}
