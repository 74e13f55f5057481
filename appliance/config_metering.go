package appliance

import (
	"fmt"
	"time"

	"cloudlet/appliance/metering"
)

// Bounds of sample_interval: tests sample every 100 ms; a minute is the coarsest an hour series
// at "the sample interval" still deserves the name.
const (
	minSampleInterval = 100 * time.Millisecond
	maxSampleInterval = time.Minute
)

// checkMetering checks the sampler's settings; zero keeps the default interval.
func (c *Config) checkMetering() error {
	if c.SampleInterval == 0 {
		c.SampleInterval = Duration(metering.DefaultInterval)
	}
	if d := time.Duration(c.SampleInterval); d < minSampleInterval || d > maxSampleInterval {
		return fmt.Errorf("config: sample_interval %s must be between %s and %s", d, minSampleInterval, maxSampleInterval)
	}
	return nil
}
