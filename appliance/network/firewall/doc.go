// Package firewall owns cloudlet's packet-filter and NAT rules: it turns a Model (networks, ports,
// security groups, floating IPs and port forwards, filled by the network service from the catalog)
// into a Ruleset of cloudlet's own iptables chains, renders it in iptables-save syntax for golden
// files and `cloudlet doctor`, and applies it to the live kernel through github.com/coreos/go-iptables.
//
// Every rule lives in a chain whose name starts with "CLOUDLET"; each built-in chain gets at most one
// jump into cloudlet's chains, at its top. Build is pure and deterministic (everything is sorted by
// IDs or addresses, never map order), so applying the same catalog twice yields byte-identical
// iptables-save output. IPv4 only for now: no ip6tables rules are built or applied.
//
// Bridged traffic is filtered through br_netfilter (net.bridge.bridge-nf-call-iptables=1) with the
// physdev match; without it, guests on the same bridge are neither isolated nor anti-spoofed.
// ARP spoofing is not covered: that needs ebtables or nft bridge-family rules, which go-iptables
// does not manage.
//
// This package imports nothing from cloudlet except appliance/fault.
package firewall
