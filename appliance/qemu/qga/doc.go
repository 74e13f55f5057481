// Package qga is cloudlet's client of the QEMU guest agent (qemu-ga), which a guest runs behind the
// virtio-serial channel org.qemu.guest_agent.0 and QEMU exposes as a unix socket on the host.
//
// Everything the agent says comes from the guest and is untrusted: every exchange has a deadline,
// every reply a size cap ([MaxReply]), a connection that breaks either is dropped, and what is used of
// a reply is checked against a schema — addresses parsed with net/netip, MACs with net.ParseMAC,
// names and OS strings cut to a length and stripped of control characters. Nothing from the agent
// is ever used as a host path or in a shell.
//
// A connection starts with guest-sync-delimited: the client sends a raw 0xFF (the agent resets its
// parser), the agent answers with a 0xFF before its reply, and the client discards everything up to
// that sentinel and every reply whose id is not the one it sent — so a late reply to an earlier,
// timed-out command is never read as the answer to the next one.
//
// It must not import anything from the project; it depends only on the standard library.
//
// # Caveats
//
// QEMU's chardev socket accepts one client at a time: callers serialise their use of one agent.
// guest-shutdown sends no reply on success; [Client.Shutdown] reports success when none comes.
//
// # Reading the source
//
// client.go: dialling, sync, one exchange; wire.go: bounded reads of replies; info.go: the guest
// information commands and their schema checks; file.go: reading a small guest file (guest-file-*),
// capped, its handle always closed.
package qga
