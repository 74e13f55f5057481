// Command leftovers is `make test`'s last check: it kills every process whose command line names a
// path inside the test run's TMPDIR (given as the only argument), prints each one, and exits 1 if
// there was any. Only the run's own unique TMPDIR is matched: a QEMU a user runs is never touched.
package main

import (
	"fmt"
	"os"
	"time"

	"cloudlet/appliance/testproc"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: leftovers TEST-RUN-TMPDIR")
		os.Exit(2)
	}
	killed, err := testproc.Kill(10*time.Second, os.Args[1])
	for _, p := range killed {
		fmt.Printf("left running by the tests, killed: %v\n", p)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "leftovers:", err)
	}
	if len(killed) > 0 || err != nil {
		fmt.Printf("FAIL: the tests left %d processes running under %s\n", len(killed), os.Args[1])
		os.Exit(1)
	}
}
