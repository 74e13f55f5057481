// Package firewall owns cloudlet's packet-filter and NAT rules: it turns a Model (networks, ports,
// security groups, floating IPs and port forwards, filled by the network service from the catalog)
// into a Ruleset of cloudlet's own iptables chains and ipsets, renders it (iptables-save syntax for
// the chains) for golden files and `cloudlet doctor`, and applies it to the live kernel: sets
// through ipset's netlink interface (github.com/vishvananda/netlink), chains with iptables-restore
// --noflush, jumps through github.com/coreos/go-iptables.
//
// A security-group rule with a remote group is one rule matching that group's set (hash:ip, one
// per group, as Neutron does), so the rules grow linearly with ports, and a port joining or leaving
// a group changes set members, not other ports' chains. Apply rewrites only what differs from what
// it applied last: a port's change rewrites that port's chains and the dispatch chains
// (CLOUDLET-FORWARD, CLOUDLET-INPUT) in one transaction, and adds or deletes its bridge chain.
//
// Every rule lives in a chain whose name starts with "CLOUDLET"; each built-in chain gets at most one
// jump into cloudlet's chains, at its top. Build is pure and deterministic (everything is sorted by
// IDs or addresses, never map order), so applying the same catalog twice yields byte-identical
// iptables-save output. IPv4 only for now: no ip6tables rules are built or applied.
//
// A port forward on every host address also answers on 127.0.0.1; its bridge then needs
// route_localnet, which the network service turns on only while the raw table drops 127.0.0.0/8
// arriving from outside lo (CVE-2020-8558; loopback.go says why both are needed).
//
// Bridged traffic is filtered through br_netfilter (net.bridge.bridge-nf-call-iptables=1) with the
// physdev match; without it, guests on the same bridge are neither isolated nor anti-spoofed.
// ARP and layer-2 anti-spoofing live in an nftables bridge-family table (bridge.go), which nft
// manages.
//
// This package imports nothing from cloudlet except appliance/fault.
package firewall
