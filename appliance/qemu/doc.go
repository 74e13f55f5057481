// Package qemu owns cloudlet's QEMU processes: the pure translation of an instance [Spec] into
// qemu-system-x86_64's argv ([Spec.Argv], golden-tested), and the life of one process — [Start] in its
// own session so that it outlives the daemon, [Attach] to it again after a daemon restart, [Process.Signal]
// and [Process.Kill] only after re-checking that the PID still belongs to that instance, [Scan] for
// orphans and [Cleanup] of the per-instance run directory.
//
// It never talks QMP beyond reading the greeting to learn that QEMU is up: the monitor belongs to
// appliance/qemu/qmp. It imports nothing from the project (not even qmp), so compute can use both.
//
// # Files in a run directory (see [PathsFor])
//
//	RunDir/qmp.sock       QMP monitor, unix socket, one client at a time
//	RunDir/vnc.sock       VNC (RFB), unix socket
//	RunDir/console.sock   serial console, unix socket
//	RunDir/agent.sock     qemu-guest-agent channel, unix socket
//	RunDir/ready.sock     org.cloudlet.ready channel (the guest writes READY when it is up), unix socket
//	RunDir/qemu.pid       PID, written by Start (not by QEMU's -pidfile)
//	RunDir/qemu.log       QEMU's stdout and stderr, truncated at each Start
//	StateDir/console.log  everything the guest printed on its serial console, appended across boots
//
// # Safety rules kept here
//
//   - User-supplied strings never reach an option string unescaped: disks and devices go through
//     JSON -blockdev/-device, paths in the remaining options have commas doubled, and paths with
//     newlines or NULs are rejected.
//   - No TCP listener, no -daemonize or -runas (they clash with -sandbox), no format probing.
//   - A PID is signalled only while its start time and /proc/<pid>/cmdline still name the instance.
package qemu
