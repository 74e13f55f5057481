// Package host gathers facts about the machine cloudlet runs on — QEMU and qemu-img versions, whether
// KVM is usable, which accelerator to use, disk space — and runs `cloudlet doctor`'s checks over them.
//
// Every fact comes through Probes, so tests substitute fakes. It imports nothing from the project
// except appliance/fault.
package host
