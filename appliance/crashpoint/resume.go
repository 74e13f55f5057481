package crashpoint

// ResumeExec is hit in a resume once QEMU runs with -incoming (its pidfile written, its monitor up)
// and may still be loading the saved state; nothing has sent cont and the record says resuming.
const ResumeExec = "compute.resume-exec"
