// Package qmp owns cloudlet's connection to a QEMU process's QEMU Machine Protocol (QMP) monitor:
// dialling its unix socket, the greeting and capabilities handshake, running commands (optionally
// passing a file descriptor with SCM_RIGHTS), and delivering QEMU's asynchronous events.
//
// It must not import anything from the project; it depends only on the standard library and
// golang.org/x/sys/unix. Package qmptest is an in-memory QMP server for unit tests.
//
// # Why not go-qemu
//
// github.com/digitalocean/go-qemu's qmp package was the first choice (DESIGN.md) and was dropped:
// it loses QEMU's error class (callers cannot tell CommandNotFound from DeviceNotActive), a slow
// event consumer blocks command replies, events sent before Events() is called are dropped, and
// neither the handshake nor a command can be bounded by a deadline. One frozen QEMU must not hang
// the daemon, so here:
//
//   - [Dial] and every command are bounded by the caller's context. A command whose context
//     expires while it is in flight breaks the monitor: it is closed, later calls return
//     [ErrClosed], and the owner reconnects and re-queries.
//   - Commands are serialised (one in flight) and matched to replies by an "id" QEMU echoes.
//   - A reader goroutine owns the socket's read side and never blocks on event delivery: events go
//     into an unbounded queue from the moment the connection exists, and [Monitor.Events] drains it.
//   - Error replies become [*Error], carrying QEMU's class and description.
//   - The end of the connection is itself an event, [EventDisconnected].
//
// # Caveats
//
// Close discards events the consumer has not received; EventDisconnected is still the last value
// on the channel before it closes. The transcript keeps the last 200 lines of traffic and cuts each
// line at 4 KiB. QMP's out-of-band execution is not used.
//
// # Reading the source
//
//	monitor.go    Monitor, Dial (connect, greeting, qmp_capabilities), Close, Done, Version
//	execute.go    Execute, ExecuteWithFile: the command lock, id matching, deadlines
//	write.go      writing one command to the socket, with an fd when asked
//	reader.go     the reader goroutine: greeting, replies, events, end of stream
//	wire.go       the JSON shapes of QMP messages
//	events.go     Event, the event names, ShutdownData; queue.go: the unbounded event queue
//	errors.go     Error, ErrClosed
//	commands.go   typed helpers: QueryStatus, Cont, Stop, Quit, GetFD, Migrate, …
//	transcript.go the ring of recent QMP traffic
package qmp
