package guest

import (
	"slices"
	"strconv"
	"strings"
)

// EC2Path answers the EC2 metadata path below latest/meta-data/ (e.g. "instance-id",
// "public-keys/0/openssh-key"; "" or a path ending in "/" is a listing, one entry a line); ok is false
// for a path the guest has not got. The instance-id is the UUID, as in the OpenStack documents.
func EC2Path(inst Instance, path string) (body string, ok bool) {
	tree := ec2Tree(inst)
	path = strings.TrimSuffix(path, "/")
	if v, ok := tree[path]; ok {
		return v, true
	}
	if path == "public-keys" && len(inst.PublicKeys) > 0 {
		lines := make([]string, len(inst.PublicKeys))
		for i, k := range inst.PublicKeys {
			lines[i] = strconv.Itoa(i) + "=" + k.Name
		}
		return strings.Join(lines, "\n"), true
	}
	return ec2Listing(tree, path)
}

// ec2Tree holds every leaf of the EC2 meta-data tree by its path.
func ec2Tree(inst Instance) map[string]string {
	t := map[string]string{
		"ami-id":                      "ami-" + shortID(inst.ImageID),
		"ami-launch-index":            "0",
		"hostname":                    inst.Hostname,
		"instance-action":             "none",
		"instance-id":                 inst.ID,
		"instance-type":               inst.InstanceType,
		"local-hostname":              inst.Hostname,
		"placement/availability-zone": AvailabilityZone,
		"reservation-id":              "r-" + shortID(inst.ID),
		"block-device-mapping/ami":    "vda",
		"block-device-mapping/root":   "/dev/vda",
		"public-hostname":             inst.Hostname,
	}
	if len(inst.NICs) > 0 && inst.NICs[0].Address.IsValid() {
		t["local-ipv4"] = inst.NICs[0].Address.Addr().String()
	}
	for i, k := range inst.PublicKeys {
		t["public-keys/"+strconv.Itoa(i)+"/openssh-key"] = k.Data
	}
	return t
}

// ec2Listing lists the children of a directory of the tree ("" is the root): a leaf by its name, a
// directory with a trailing slash; public-keys/ lists "<index>=<key name>" as EC2 does.
func ec2Listing(tree map[string]string, dir string) (string, bool) {
	prefix := dir + "/"
	if dir == "" {
		prefix = ""
	}
	var names []string
	for p := range tree {
		rest, found := strings.CutPrefix(p, prefix)
		if !found {
			continue
		}
		if child, _, deeper := strings.Cut(rest, "/"); deeper {
			names = append(names, child+"/")
		} else {
			names = append(names, child)
		}
	}
	if len(names) == 0 {
		return "", false
	}
	slices.Sort(names)
	return strings.Join(slices.Compact(names), "\n"), true
}
