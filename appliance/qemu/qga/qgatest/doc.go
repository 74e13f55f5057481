// Package qgatest is a fake QEMU guest agent (qemu-ga) for unit tests: it speaks the agent's wire
// protocol over a unix socket in the test's temp dir (guest-sync-delimited answered after a 0xFF
// sentinel, one reply a line, guest-shutdown answered with silence) and models a small Debian
// guest, so code driving the agent through package qga can be tested without a guest. Canned
// handlers make it misbehave as a hostile or broken guest would: hang, flood, garble, lie.
//
// It must not import anything from the project, not even package qga (DESIGN.md's rule covers
// everything under appliance/qemu/qga, as it covers qmptest under appliance/qemu/qmp).
//
// # The model
//
// Defaults, each overridable with [Agent.Handle] (one command) or [Agent.HandleEvery] (every
// command, the sync included):
//
//	guest-sync-delimited          0xFF, then {"return": id} with the id asked
//	guest-get-host-name           {"host-name": "web-guest"}
//	guest-get-osinfo              {"pretty-name": "Debian GNU/Linux 12 (bookworm)"}
//	guest-network-get-interfaces  lo 127.0.0.1/8, and eth0 52:54:00:12:34:56 with 10.9.0.5/24
//	guest-file-open/-read/-close  the guest's files ([Agent.SetFile]), read from each handle's
//	                              offset, at most count bytes (and [Agent.SetMaxRead]'s); a missing
//	                              file is qemu-ga's GenericError "… No such file or directory"
//	guest-fsfreeze-freeze/-thaw   {}
//	guest-ping                    {}
//	guest-shutdown                no reply, as qemu-ga on success; calls [Agent.OnShutdown]'s func
//	anything else                 CommandNotFound "The command X has not been found"
//
// Every command received is recorded ([Agent.Commands]), answered or not. A request that is not
// JSON ends its connection.
//
// # Reading the source
//
//	agent.go     Agent, New and the test-facing controls (Handle, HandleEvery, SetFile, Commands, …)
//	conn.go      accepting and serving connections: one request a line, dispatched
//	model.go     the default answers: the small guest and its files
//	handlers.go  canned handlers: Return, Fail, Blocked, Silent, Garbage, Flood, WrongSync
package qgatest
