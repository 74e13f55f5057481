// Package compute owns instances and flavors (Nova's job): the instance records with their three states
// (vm_state, task_state, power_state), the one table of legal transitions, host-capacity admission, one
// supervisor goroutine per instance that owns its QEMU process and QMP connection, and the reconcile that
// reattaches running QEMUs after a daemon restart and reaps orphans.
//
// compute imports store, appliance/fault, appliance/qemu and appliance/qemu/qmp. Images and (later)
// volumes and networks reach it through small interfaces declared here and wired in appliance. It never
// imports the web layer; list and show read only the catalog, never QMP.
package compute
