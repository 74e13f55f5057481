package crashpoint

// RebootGuestDown is hit in a soft reboot once the guest has shut down, before QEMU (told to pause on
// shutdown for the reboot) is reset: a daemon killed here leaves QEMU in run state shutdown with its
// shutdown action still pause.
const RebootGuestDown = "compute.reboot-guest-down"
