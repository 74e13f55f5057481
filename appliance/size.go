package appliance

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ByteSize is a number of bytes written in JSON as a string with a binary unit ("64GiB", "512MiB")
// or as a plain number of bytes.
type ByteSize int64

// sizeUnits are the suffixes ByteSize reads, longest first so "GiB" is not read as "B".
var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// String writes the size with the largest unit that divides it.
func (b ByteSize) String() string {
	for _, u := range sizeUnits {
		if b != 0 && int64(b)%u.mult == 0 {
			return strconv.FormatInt(int64(b)/u.mult, 10) + u.suffix
		}
	}
	return "0B"
}

// MarshalJSON writes the size as a string such as "64GiB".
func (b ByteSize) MarshalJSON() ([]byte, error) { return json.Marshal(b.String()) }

// UnmarshalJSON reads "64GiB", "512MiB", "1TiB", "4096B" or a plain number of bytes.
func (b *ByteSize) UnmarshalJSON(data []byte) error {
	var n int64
	if json.Unmarshal(data, &n) == nil {
		*b = ByteSize(n)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("size must be a string like \"64GiB\" or a number of bytes: %w", err)
	}
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil || v < 0 || v > (1<<62)/u.mult {
				break
			}
			*b = ByteSize(v * u.mult)
			return nil
		}
	}
	return fmt.Errorf("size %.32q: want a whole number with a unit of B, KiB, MiB, GiB or TiB, e.g. \"64GiB\"", s)
}
