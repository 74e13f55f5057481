package cloudinit

import (
	"flag"
	"os"
	"testing"

	"cloudlet/appliance/e2e"
)

var cloudletBin string // built once by TestMain, inside the test's network namespace

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(e2e.RunSuite(m, "cloudinit", &cloudletBin))
}
