package openstack

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"cloudlet/appliance/compute"
	"cloudlet/web/client"
)

// createServerBody is POST /servers as Nova 2.1's strict schema allows it: any other key is a 400.
type createServerBody struct {
	Server     *serverRequest  `json:"server"`
	Hints      json.RawMessage `json:"os:scheduler_hints"`
	HintsAlias json.RawMessage `json:"OS-SCH-HNT:scheduler_hints"`
}

// serverRequest is the "server" of a create. networks is a list or "auto"/"none" (2.37's words,
// accepted here too); OS-DCF:diskConfig is accepted and not kept.
type serverRequest struct {
	Name           string            `json:"name"`
	ImageRef       string            `json:"imageRef"`
	FlavorRef      string            `json:"flavorRef"`
	Networks       json.RawMessage   `json:"networks"`
	KeyName        string            `json:"key_name"`
	UserData       *string           `json:"user_data"`
	Metadata       map[string]string `json:"metadata"`
	SecurityGroups []struct {
		Name string `json:"name"`
	} `json:"security_groups"`
	ConfigDrive      any                 `json:"config_drive"`
	AvailabilityZone string              `json:"availability_zone"`
	MinCount         *int                `json:"min_count"`
	MaxCount         *int                `json:"max_count"`
	ReturnResID      bool                `json:"return_reservation_id"`
	BDMv2            []blockDeviceMap    `json:"block_device_mapping_v2"`
	AdminPass        string              `json:"adminPass"`
	AccessIPv4       string              `json:"accessIPv4"`
	AccessIPv6       string              `json:"accessIPv6"`
	DiskConfig       string              `json:"OS-DCF:diskConfig"`
	Personality      []map[string]string `json:"personality"`
}

// blockDeviceMap is one block_device_mapping_v2 entry.
type blockDeviceMap struct {
	BootIndex           any    `json:"boot_index"`
	UUID                string `json:"uuid"`
	SourceType          string `json:"source_type"`
	DestinationType     string `json:"destination_type"`
	VolumeSize          any    `json:"volume_size"`
	DeleteOnTermination bool   `json:"delete_on_termination"`
	DeviceName          string `json:"device_name"`
	DiskBus             string `json:"disk_bus"`
	DeviceType          string `json:"device_type"`
	GuestFormat         string `json:"guest_format"`
	VolumeType          string `json:"volume_type"`
	Tag                 string `json:"tag"`
}

// invalidInput is a refusal of a request's body, Nova's 400.
type invalidInput string

func (e invalidInput) Error() string { return string(e) }

// decodeStrict decodes a JSON body refusing unknown keys (Nova's additionalProperties: false), a
// refusal being Nova's 400.
func decodeStrict(r *http.Request, out any) error {
	if err := decodeStrictBody(r, out); err != nil {
		return invalidInput("Invalid input for field/attribute: " + err.Error())
	}
	return nil
}

// refID is the id of an imageRef or flavorRef, which may be a URL ending in it.
func refID(ref string) string {
	return ref[strings.LastIndex(ref, "/")+1:]
}

// nativeCreate translates a create into /api/v1's request; what cloudlet cannot do is a 400.
func nativeCreate(sr *serverRequest) (compute.CreateRequest, error) {
	cr := compute.CreateRequest{Name: sr.Name, Image: refID(sr.ImageRef), Flavor: refID(sr.FlavorRef),
		KeyName: sr.KeyName, Metadata: sr.Metadata, Password: sr.AdminPass, AccessIPv4: sr.AccessIPv4,
		AccessIPv6: sr.AccessIPv6}
	if sr.Name == "" || sr.FlavorRef == "" {
		return cr, invalidInput("name and flavorRef are required")
	}
	if sr.UserData != nil {
		cr.UserData = *sr.UserData // base64, as /api/v1 takes it
	}
	for _, n := range []*int{sr.MinCount, sr.MaxCount} {
		if n != nil && *n != 1 {
			return cr, invalidInput("cloudlet creates one server per request: min_count and max_count must be 1")
		}
	}
	if sr.ReturnResID {
		return cr, invalidInput("return_reservation_id is not supported")
	}
	if sr.AvailabilityZone != "" && sr.AvailabilityZone != serverZone {
		return cr, invalidInput("The requested availability zone is not available: " + sr.AvailabilityZone)
	}
	if len(sr.Personality) > 0 {
		return cr, invalidInput("personality files are not supported: use user_data")
	}
	for _, g := range sr.SecurityGroups {
		cr.SecurityGroups = append(cr.SecurityGroups, g.Name)
	}
	drive, err := configDrive(sr.ConfigDrive)
	if err != nil {
		return cr, err
	}
	cr.ConfigDrive = drive
	if err := nativeNICs(sr.Networks, &cr); err != nil {
		return cr, err
	}
	return cr, nativeBootDevice(sr.BDMv2, &cr)
}

// configDrive maps Nova's config_drive (a boolean, or "true"/"True"/"") onto cloudlet's kinds: true
// is an OpenStack config drive; false or absent is none, as in Nova: the guest then reads its key,
// user-data and metadata from the metadata service (cloudlet's own default, a NoCloud seed, is
// /api/v1's).
func configDrive(v any) (string, error) {
	on := false
	switch x := v.(type) {
	case nil:
	case bool:
		on = x
	case string:
		switch strings.ToLower(x) {
		case "true", "1", "yes":
			on = true
		case "", "false", "0", "no":
		default:
			return "", invalidInput("Invalid input for field/attribute config_drive: " + x)
		}
	default:
		return "", invalidInput(fmt.Sprintf("Invalid input for field/attribute config_drive: %v", v))
	}
	if on {
		return compute.ConfigDriveOpenStack, nil
	}
	return compute.ConfigDriveNone, nil
}

// nativeNICs translates networks: [{uuid}|{port}] (in order; cloudlet gives the ports first),
// "auto" (cloudlet's default network) or "none" (no NIC).
func nativeNICs(raw json.RawMessage, cr *compute.CreateRequest) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `"auto"` {
		return nil
	}
	if string(raw) == `"none"` {
		cr.Networks = []string{}
		return nil
	}
	var nets []struct {
		UUID    string `json:"uuid"`
		Port    string `json:"port"`
		FixedIP string `json:"fixed_ip"`
		Tag     string `json:"tag"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&nets); err != nil {
		return invalidInput("Invalid input for field/attribute networks: " + err.Error())
	}
	for _, n := range nets {
		switch {
		case n.FixedIP != "":
			return invalidInput("networks: fixed_ip is not supported; create a port with the address and give it as port")
		case n.Port != "":
			cr.Ports = append(cr.Ports, n.Port)
		case n.UUID != "":
			cr.Networks = append(cr.Networks, n.UUID)
		default:
			return invalidInput("networks: each entry needs uuid or port")
		}
	}
	if cr.Networks == nil && cr.Ports == nil {
		cr.Networks = []string{}
	}
	return nil
}

// nativeBootDevice translates block_device_mapping_v2's boot device: an existing volume (source
// volume) is cloudlet's boot_volume; image → volume is cloudlet's own way of booting an image
// (compute makes the boot volume, of the flavor's disk size). Other mappings are refused.
func nativeBootDevice(bdms []blockDeviceMap, cr *compute.CreateRequest) error {
	for _, b := range bdms {
		if fmt.Sprint(b.BootIndex) != "0" {
			return invalidInput("block_device_mapping_v2: only the boot device (boot_index 0) is supported; attach other volumes after create")
		}
		switch {
		case b.SourceType == "volume" && b.DestinationType == "volume" && b.UUID != "":
			cr.BootVolume, cr.Image = b.UUID, ""
		case b.SourceType == "image" && (b.DestinationType == "volume" || b.DestinationType == "local") && b.UUID != "":
			cr.Image = b.UUID
		default:
			return invalidInput(fmt.Sprintf("block_device_mapping_v2: source_type %q to destination_type %q is not supported",
				b.SourceType, b.DestinationType))
		}
	}
	if cr.Image == "" && cr.BootVolume == "" {
		return invalidInput("imageRef, or a boot volume in block_device_mapping_v2, is required")
	}
	return nil
}

// generatedPassword is Nova's adminPass when none is asked for: 12 random letters and digits.
func generatedPassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// createServer serves POST /servers: 202 with only what Nova 2.1 answers (id, links, diskConfig,
// security_groups, adminPass); the server then shows BUILD until cloudlet has booted it. Bad
// references (image, flavor, network, key) are 400 as in Nova.
func (s *Server) createServer(w http.ResponseWriter, r *http.Request, api *client.Client) {
	var body createServerBody
	err := decodeStrict(r, &body)
	if err == nil && body.Server == nil {
		err = invalidInput("server is required")
	}
	var cr compute.CreateRequest
	if err == nil {
		cr, err = nativeCreate(body.Server)
	}
	if err != nil {
		novaError(w, http.StatusBadRequest, err.Error())
		return
	}
	if cr.Password == "" {
		cr.Password = generatedPassword()
	}
	var inst compute.Instance
	if err := api.Do(r.Context(), http.MethodPost, "/api/v1/instances", cr, &inst); err != nil {
		status, msg := apiStatus(err)
		if status == http.StatusNotFound {
			status = http.StatusBadRequest
		}
		novaError(w, status, msg)
		return
	}
	groups := []map[string]string{{"name": "default"}}
	if len(body.Server.SecurityGroups) > 0 {
		groups = groups[:0]
	}
	for _, g := range body.Server.SecurityGroups {
		groups = append(groups, map[string]string{"name": g.Name})
	}
	disk := body.Server.DiskConfig
	if disk == "" {
		disk = "MANUAL"
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"server": map[string]any{"id": inst.ID,
		"links": s.serverLinks(r, inst.ID), "OS-DCF:diskConfig": disk, "security_groups": groups,
		"adminPass": cr.Password}})
}
