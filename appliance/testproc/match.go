package testproc

import "strings"

// Mentions reports whether an argument of argv names dir or a path inside it, as a whole path: in
// "path=/tmp/ab/qmp.sock" or "unix:/tmp/ab,server=on" it finds /tmp/ab, but not in /tmp/abc or
// /x/tmp/ab, which are other directories.
func Mentions(argv []string, dir string) bool {
	for _, arg := range argv {
		for i := 0; i+len(dir) <= len(arg); {
			j := strings.Index(arg[i:], dir)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(dir)
			if (start == 0 || !isPathByte(arg[start-1])) && (end == len(arg) || arg[end] == '/' || !isPathByte(arg[end])) {
				return true
			}
			i = start + 1
		}
	}
	return false
}

// mentionsAny reports whether argv names one of dirs, also as QEMU writes a path with a comma inside
// an option string (",,").
func mentionsAny(argv, dirs []string) bool {
	for _, d := range dirs {
		if Mentions(argv, d) || strings.Contains(d, ",") && Mentions(argv, strings.ReplaceAll(d, ",", ",,")) {
			return true
		}
	}
	return false
}

// isPathByte reports whether c may continue a file name or path; option syntax (",", "=", ":", spaces,
// quotes) separates a path from what surrounds it.
func isPathByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-+~@%/", c) >= 0
}
