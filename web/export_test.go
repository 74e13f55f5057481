package web

import "os"

func isRoot() bool { return os.Getuid() == 0 }
