// Package dns is cloudlet's small DNS server for one network's gateway: it answers
// "<instance>.<network>.<domain>" with the fixed IPv4 addresses the catalog holds, and forwards
// every other name to the host's resolvers.
//
// Names under the domain come only from a Lookup (the catalog): they are never forwarded, never
// learnt from what a guest sends, and unknown ones get NXDOMAIN. AAAA questions for them get an
// empty NOERROR (networks are IPv4 only). Other names go over UDP to the upstreams, all at once,
// and the first valid reply is relayed with the client's ID put back; with no upstreams the
// answer is REFUSED, and when none answers in time it is SERVFAIL. Malformed messages are dropped
// and counted, each source address is rate-limited, UDP replies over 512 bytes (or the client's
// EDNS size) are truncated with the TC bit, and TCP serves the same answers in full.
//
// The DNS wire format it needs (header, one question, A records, OPT) is written here with the
// standard library. It imports nothing from cloudlet except appliance/fault.
package dns
