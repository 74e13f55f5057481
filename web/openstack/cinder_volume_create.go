package openstack

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"cloudlet/appliance/volume"
	"cloudlet/web/client"
)

// volumeCreate is POST /volumes at 3.0. cinderclient sends most keys, null when unused; keys
// cloudlet has no use for are accepted when null or false and refused otherwise.
type volumeCreate struct {
	Volume *struct {
		Size               *int              `json:"size"`
		Name               *string           `json:"name"`
		DisplayName        *string           `json:"display_name"`
		Description        *string           `json:"description"`
		DisplayDescription *string           `json:"display_description"`
		ImageRef           *string           `json:"imageRef"`
		SnapshotID         *string           `json:"snapshot_id"`
		SourceVolID        *string           `json:"source_volid"`
		VolumeType         *string           `json:"volume_type"`
		AvailabilityZone   *string           `json:"availability_zone"`
		Metadata           map[string]string `json:"metadata"`
		Multiattach        bool              `json:"multiattach"`
		ConsistencyGroupID *string           `json:"consistencygroup_id"`
		BackupID           *string           `json:"backup_id"`
	} `json:"volume"`
}

// createVolume makes an empty volume, or one from an image, a snapshot or another volume, through
// POST /api/v1/volumes; Cinder answers 202 (cloudlet's volume is ready when it answers).
func (s *Server) createVolume(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	var body volumeCreate
	if err := decodeLenientBody(r, &body); err != nil || body.Volume == nil {
		novaError(w, http.StatusBadRequest, "Invalid input received: "+describeBodyError(err))
		return
	}
	in, status, msg := nativeVolumeRequest(body)
	if status != 0 {
		novaError(w, status, msg)
		return
	}
	var v volume.Volume
	if err := c.api.Do(r.Context(), http.MethodPost, "/api/v1/volumes", in, &v); err != nil {
		status, msg := apiStatus(err)
		if status == http.StatusNotFound && in["image"] != nil {
			status, msg = http.StatusBadRequest, "Invalid image identifier or unable to access requested image: "+msg
		}
		cinderAPIError(w, &client.Error{Code: status, Message: msg})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"volume": changedVolumeView(c, v)})
}

// nativeVolumeRequest is the /api/v1 request for a Cinder create, or the status and message that
// refuse it.
func nativeVolumeRequest(body volumeCreate) (map[string]any, int, string) {
	b := body.Volume
	in := map[string]any{}
	if name := firstSet(b.Name, b.DisplayName); name != nil && *name != "" {
		in["name"] = *name
	} else {
		in["name"] = generatedVolumeName()
	}
	if d := firstSet(b.Description, b.DisplayDescription); d != nil {
		in["description"] = *d
	}
	if b.Metadata != nil {
		in["metadata"] = b.Metadata
	}
	switch {
	case b.Size != nil && *b.Size <= 0:
		return nil, http.StatusBadRequest, "Invalid input received: size must be an integer greater than 0, not " + strconv.Itoa(*b.Size)
	case b.Size != nil:
		in["size_gib"] = *b.Size
	case set(b.SnapshotID) || set(b.SourceVolID):
	default:
		return nil, http.StatusBadRequest, "Invalid input received: size is required for a volume without a snapshot or a source volume"
	}
	for key, ref := range map[string]*string{"snapshot": b.SnapshotID, "volume": b.SourceVolID} {
		if !set(ref) {
			continue
		}
		if !isID(*ref) {
			return nil, http.StatusNotFound, "Volume source " + *ref + " could not be found."
		}
		in[key] = *ref
	}
	if set(b.ImageRef) {
		in["image"] = *b.ImageRef
	}
	if status, msg := refuseUnsupported(b.VolumeType, b.AvailabilityZone, b.ConsistencyGroupID, b.BackupID, b.Multiattach); status != 0 {
		return nil, status, msg
	}
	return in, 0, ""
}

// refuseUnsupported refuses what cloudlet has no counterpart for: a volume type or zone other
// than the one there is (Cinder: 404 for the type, 400 for the zone), consistency groups,
// backups and multiattach.
func refuseUnsupported(volType, zone, group, backup *string, multiattach bool) (int, string) {
	switch {
	case set(volType) && *volType != defaultVolumeType && *volType != defaultVolumeTypeID:
		return http.StatusNotFound, "Volume type " + *volType + " could not be found."
	case set(zone) && *zone != availabilityZone:
		return http.StatusBadRequest, "Invalid input received: Availability zone '" + *zone + "' is invalid."
	case set(group):
		return http.StatusBadRequest, "Invalid input received: consistency groups are not supported"
	case set(backup):
		return http.StatusBadRequest, "Invalid input received: backups are not supported"
	case multiattach:
		return http.StatusBadRequest, "Invalid input received: multiattach volumes are not supported"
	}
	return 0, ""
}

// set reports whether an optional string was given and is not empty.
func set(p *string) bool { return p != nil && *p != "" }

// generatedVolumeName names a volume created without one: Cinder allows that, cloudlet's names
// are required.
func generatedVolumeName() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "volume-" + hex.EncodeToString(b)
}

// volumeAction serves POST /volumes/{id}/action: os-extend (202) and os-set_bootable (200).
// Attaching is Nova's (os-volume_attachments); the other actions cloudlet does not have.
func (s *Server) volumeAction(w http.ResponseWriter, r *http.Request, c *cinderCall) {
	var body map[string]json.RawMessage
	if err := decodeLenientBody(r, &body); err != nil || len(body) != 1 {
		novaError(w, http.StatusBadRequest, "Invalid request body: want exactly one action")
		return
	}
	v, ok := findVolume(w, r, c)
	if !ok {
		return
	}
	for action, arg := range body {
		switch action {
		case "os-extend":
			s.extendVolume(w, r, c, v, arg)
		case "os-set_bootable":
			s.setBootable(w, r, c, v, arg)
		default:
			novaError(w, http.StatusBadRequest, "There is no such action: "+action)
		}
	}
}

// extendVolume grows a volume to new_size GiB (POST /api/v1/volumes/{id}/extend).
func (s *Server) extendVolume(w http.ResponseWriter, r *http.Request, c *cinderCall, v volume.Volume, arg json.RawMessage) {
	var ext struct {
		NewSize *int `json:"new_size"`
	}
	if err := json.Unmarshal(arg, &ext); err != nil || ext.NewSize == nil {
		novaError(w, http.StatusBadRequest, "Invalid input received: os-extend needs new_size, an integer")
		return
	}
	if *ext.NewSize <= v.SizeGiB {
		novaError(w, http.StatusBadRequest, "Invalid input received: New size for extend must be greater than current size. (current: "+
			strconv.Itoa(v.SizeGiB)+", extended: "+strconv.Itoa(*ext.NewSize)+").")
		return
	}
	if err := c.api.Do(r.Context(), http.MethodPost, "/api/v1/volumes/"+v.ID+"/extend", map[string]int{"size_gib": *ext.NewSize}, nil); err != nil {
		cinderAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// setBootable sets the bootable flag, given as a JSON boolean or as "true"/"false" (Cinder takes both).
func (s *Server) setBootable(w http.ResponseWriter, r *http.Request, c *cinderCall, v volume.Volume, arg json.RawMessage) {
	var b struct {
		Bootable any `json:"bootable"`
	}
	_ = json.Unmarshal(arg, &b)
	var flag bool
	switch x := b.Bootable.(type) {
	case bool:
		flag = x
	case string:
		parsed, err := strconv.ParseBool(strings.ToLower(x))
		if err != nil {
			novaError(w, http.StatusBadRequest, "Invalid input received: bootable must be true or false")
			return
		}
		flag = parsed
	default:
		novaError(w, http.StatusBadRequest, "Invalid input received: os-set_bootable needs bootable, true or false")
		return
	}
	if err := c.api.Do(r.Context(), http.MethodPost, "/api/v1/volumes/"+v.ID+"/bootable", map[string]bool{"bootable": flag}, nil); err != nil {
		cinderAPIError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
