#!/bin/sh
# cloudlet-cloudinit-report prints what cloud-init applied as one line on the serial console:
#   CLOUDLET-CLOUDINIT-REPORT hostname=<h> keys=<n> key0=<sha256|-> runcmd=<text|-> datasource=<ds|none> errors=<n> ip=<ipv4|none> pw=<shadow|->
# key0 is the SHA-256 (hex) of the first key line of the default user's authorized_keys, without its newline.
# runcmd is the first line of /run/cloudlet-runcmd with blanks made "_", or "-" when the file is absent.
# datasource is cloud-init's, e.g. NoCloud or OpenStackLocal, from /run/cloud-init/result.json; errors counts
# the errors listed there. pw is the default user's password field in /etc/shadow (a throwaway test image: it
# shows tests the hash cloud-init set), or "-" when it is empty or there is no such user. (The cloudguest Go
# package parses this line: keep the two in step.)
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

keys_file=/home/debian/.ssh/authorized_keys
keys=0
key0=-
if [ -r "$keys_file" ]; then
	lines=$(grep -v -E '^[[:space:]]*(#|$)' "$keys_file")
	if [ -n "$lines" ]; then
		keys=$(printf '%s\n' "$lines" | wc -l)
		key0=$(printf '%s\n' "$lines" | head -n 1 | tr -d '\r\n' | sha256sum | cut -d' ' -f1)
	fi
fi

runcmd=-
if [ -e /run/cloudlet-runcmd ]; then
	runcmd=$(head -n 1 /run/cloudlet-runcmd | tr -s ' \t\r' '___')
fi

datasource=none
errors=0
if [ -r /run/cloud-init/result.json ]; then
	set -- $(python3 -c '
import json, sys
v1 = json.load(open("/run/cloud-init/result.json")).get("v1", {})
ds = (v1.get("datasource") or "none").split()[0]
print(ds[len("DataSource"):] if ds.startswith("DataSource") else ds, len(v1.get("errors") or []))
' 2>/dev/null) && { datasource=${1:-none}; errors=${2:-0}; }
fi

pw=$(awk -F: '$1 == "debian" { print $2 }' /etc/shadow 2>/dev/null | tr -d ' \t')

ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')

printf '\nCLOUDLET-CLOUDINIT-REPORT hostname=%s keys=%s key0=%s runcmd=%s datasource=%s errors=%s ip=%s pw=%s\n' \
	"$(hostname)" "$keys" "$key0" "$runcmd" "$datasource" "$errors" "${ip:-none}" "${pw:--}" >/dev/ttyS0
