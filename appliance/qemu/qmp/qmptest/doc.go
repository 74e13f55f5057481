// Package qmptest is an in-memory QMP server for unit tests: it speaks QEMU's real wire protocol
// over a unix socket in the test's temp dir and models a tiny VM (run state, a few events, quit),
// so code driving QEMU through package qmp can be tested without QEMU.
//
// It must not import anything from the project, not even package qmp (DESIGN.md's rule covers
// everything under appliance/qemu/qmp); that is why scripted errors are its own [Error] type.
//
// # The model
//
// The server greets with QEMU 7.2.22 and capabilities ["oob"] and insists on qmp_capabilities
// first, as QEMU does. The VM starts in "prelaunch" (like qemu -S). Defaults, each overridable
// with [Server.Handle]:
//
//	query-status      {"status": ..., "running": ...}
//	cont, stop        running / paused, with RESUME / STOP
//	system_reset      RESET {"guest": false, "reason": "host-qmp-system-reset"}
//	system_powerdown  POWERDOWN; the guest ignores it unless PowerdownShutsDown(true), then
//	                  SHUTDOWN {"guest": true, "reason": "guest-shutdown"} and QEMU "exits"
//	quit              SHUTDOWN {"guest": false, "reason": "host-qmp-quit"} (before the reply,
//	                  as QEMU 7.2 sends it), then QEMU "exits"
//	getfd             {} if a descriptor came with the command (see ReceivedFDs), else GenericError
//	migrate           {}; query-migrate then says "completed" (before: {})
//	migrate-incoming  {}
//	anything else     CommandNotFound "The command X has not been found"
//
// "Exiting" closes every connection and the listener (the socket file goes away) and closes
// [Server.Exited].
//
// # Reading the source
//
//	server.go    Server, New and the test-facing controls (Handle, Hang, Disconnect, Commands, …)
//	conn.go      one client connection: greeting, reading commands, descriptors received
//	dispatch.go  negotiation, scripted handler or default, replies, Emit
//	vm.go        the default commands: the tiny VM model
package qmptest
