package cloudguest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
)

// Marker starts the one line the guest prints on ttyS0 after cloud-final (report.sh):
//
//	CLOUDLET-CLOUDINIT-REPORT hostname=<h> keys=<n> key0=<sha256|-> runcmd=<text|-> datasource=<ds|none> errors=<n> ip=<ipv4|none> pw=<shadow|->
const Marker = "CLOUDLET-CLOUDINIT-REPORT"

// DefaultUser is the user cloud-init creates on Debian and gives the instance's SSH keys (and a password).
const DefaultUser = "debian"

// RuncmdFile is where a test's user-data runcmd writes what the report shows as Runcmd.
const RuncmdFile = "/run/cloudlet-runcmd"

// Report is what cloud-init applied, as the guest saw it.
type Report struct {
	Hostname   string
	Keys       int    // key lines in the default user's authorized_keys
	Key0       string // KeyHash of the first of them ("" for none); cloud-init writes them in no fixed order
	Runcmd     string // first line of RuncmdFile, blanks made "_"; "" when the file is absent
	Datasource string // cloud-init's datasource without "DataSource", e.g. NoCloud, OpenStackLocal; "" for none
	Errors     int    // errors cloud-init listed in /run/cloud-init/result.json
	IP         string // the first global IPv4 address; "" for none
	Password   string // DefaultUser's password field in /etc/shadow (e.g. a "$6$" hash, "!" locked); "" for none
}

// KeyHash is the report's key0 for an authorized_keys line: the hex SHA-256 of the line without its line end.
func KeyHash(line string) string {
	sum := sha256.Sum256([]byte(strings.TrimRight(line, "\r\n")))
	return hex.EncodeToString(sum[:])
}

// ParseReport parses a console line holding Marker; console noise before the marker is ignored. It reports
// false when the line has no marker or a field is missing or malformed.
func ParseReport(line string) (Report, bool) {
	_, rest, ok := strings.Cut(line, Marker)
	if !ok || !strings.HasPrefix(rest, " ") {
		return Report{}, false
	}
	fields := map[string]string{}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	for _, k := range []string{"hostname", "keys", "key0", "runcmd", "datasource", "errors", "ip", "pw"} {
		if _, ok := fields[k]; !ok {
			return Report{}, false
		}
	}
	r := Report{Hostname: fields["hostname"], Key0: dash(fields["key0"]), Runcmd: dash(fields["runcmd"]),
		Datasource: fields["datasource"], IP: fields["ip"], Password: dash(fields["pw"])}
	var err1, err2 error
	r.Keys, err1 = strconv.Atoi(fields["keys"])
	r.Errors, err2 = strconv.Atoi(fields["errors"])
	if r.Hostname == "" || err1 != nil || r.Keys < 0 || err2 != nil || r.Errors < 0 {
		return Report{}, false
	}
	if r.Datasource == "none" {
		r.Datasource = ""
	}
	if r.IP == "none" {
		r.IP = ""
	} else if addr, err := netip.ParseAddr(r.IP); err != nil || !addr.Is4() {
		return Report{}, false
	}
	if (r.Keys == 0) != (r.Key0 == "") || (r.Key0 != "" && !isSHA256(r.Key0)) {
		return Report{}, false
	}
	return r, true
}

func dash(v string) string {
	if v == "-" {
		return ""
	}
	return v
}

func isSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size && strings.ToLower(s) == s
}
