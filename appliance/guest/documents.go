package guest

import (
	"slices"
	"strings"
)

// Serve answers one metadata service path for inst, as nova-api-metadata lays them out: "/" (the EC2
// versions), "/openstack" (the OpenStack versions), "/openstack/<version>/" and its documents, and
// "/<ec2 version>/" with "meta-data/..." and "user-data". It is path in, bytes out, so the HTTP handler
// only finds inst from the caller; ErrNotFound for anything else (the handler's 404).
func Serve(inst Instance, path string) (body []byte, contentType string, err error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if parts[0] == "openstack" {
		return serveOpenStack(inst, parts[1:])
	}
	if parts[0] == "" {
		return listing(append(slices.Clone(EC2Versions), "latest")...)
	}
	if parts[0] != "latest" && !slices.Contains(EC2Versions, parts[0]) {
		return nil, "", ErrNotFound
	}
	switch {
	case len(parts) == 1:
		if len(inst.UserData) > 0 {
			return listing("meta-data/", "user-data")
		}
		return listing("meta-data/")
	case parts[1] == "user-data" && len(parts) == 2 && len(inst.UserData) > 0:
		return inst.UserData, "application/octet-stream", nil
	case parts[1] == "meta-data":
		sub := strings.Join(parts[2:], "/")
		if strings.HasSuffix(path, "/") && sub != "" {
			sub += "/"
		}
		if v, ok := EC2Path(inst, sub); ok {
			return []byte(v), "text/plain; charset=utf-8", nil
		}
	}
	return nil, "", ErrNotFound
}

// EC2Versions are the EC2 metadata versions served besides "latest", oldest first, as nova lists them.
var EC2Versions = []string{"1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15",
	"2008-02-01", "2008-09-01", "2009-04-04"}

func serveOpenStack(inst Instance, parts []string) ([]byte, string, error) {
	switch {
	case len(parts) == 0 || parts[0] == "":
		return listing(append(slices.Clone(OpenStackVersions), "latest")...)
	case len(parts) == 1 || parts[1] == "":
		if parts[0] != "latest" && !slices.Contains(OpenStackVersions, parts[0]) {
			return nil, "", ErrNotFound
		}
		var names []string
		for _, n := range OpenStackNames {
			if n != OpenStackUserData || len(inst.UserData) > 0 {
				names = append(names, n)
			}
		}
		return listing(names...)
	case len(parts) == 2:
		body, err := OpenStackFile(inst, parts[0], parts[1])
		if err != nil {
			return nil, "", err
		}
		if strings.HasSuffix(parts[1], ".json") {
			return body, "application/json", nil
		}
		return body, "application/octet-stream", nil
	}
	return nil, "", ErrNotFound
}

func listing(lines ...string) ([]byte, string, error) {
	return []byte(strings.Join(lines, "\n")), "text/plain; charset=utf-8", nil
}
