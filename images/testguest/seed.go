package testguest

import (
	"fmt"
	"os"
	"strings"

	"github.com/kdomanski/iso9660"
)

// WriteSeedISO writes a NoCloud seed for tests to path (mode 0600): an iso9660 image labelled cidata with
// the files meta-data and user-data (plain iso9660 names, no Rock Ridge or Joliet: both names are valid
// as they are, and Linux shows them unchanged).
func WriteSeedISO(path string, metaData, userData string) (err error) {
	w, err := iso9660.NewWriter()
	if err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	defer w.Cleanup()
	for _, f := range []struct{ name, data string }{{"meta-data", metaData}, {"user-data", userData}} {
		if err := w.AddFile(strings.NewReader(f.data), f.name); err != nil {
			return fmt.Errorf("write seed %s: add %s: %w", path, f.name, err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write seed %s: %w", path, cerr)
		}
	}()
	if err := w.WriteTo(f, "cidata"); err != nil {
		return fmt.Errorf("write seed %s: %w", path, err)
	}
	return nil
}
