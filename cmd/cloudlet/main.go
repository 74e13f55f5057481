// Command cloudlet is the whole of cloudlet in one binary: `cloudlet serve` runs the daemon, every other
// subcommand is a client of its API (over the unix socket by default, or --url with a token).
package main

import (
	"fmt"
	"io"
	"os"
)

// version is stamped by the Makefile with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cloudlet:", err)
		os.Exit(1)
	}
}

// run executes one command line; it is main without the process exit, for tests.
func run(args []string, stdout, stderr io.Writer) error {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	return root.Execute()
}
