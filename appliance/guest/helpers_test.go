package guest

import (
	"slices"
	"time"
)

func buildISOForKind(kind string, inst Instance) ([]byte, error) {
	label, files, err := SeedFiles(kind, inst)
	if err != nil {
		return nil, err
	}
	return buildISO(label, files, time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
}

func sortStrings(s []string) []string { slices.Sort(s); return s }
