package appliance

import (
	"fmt"
	"time"

	"cloudlet/appliance/identity"
)

// checkLogin checks the login throttle's and sessions' settings; zero values take identity's defaults.
func (c *Config) checkLogin() error {
	switch {
	case c.LoginFreeFailures < 0 || c.LoginFreeFailures > 1000:
		return fmt.Errorf("config: login_free_failures %d must be between 0 and 1000", c.LoginFreeFailures)
	case c.LoginBackoffMax < 0 || time.Duration(c.LoginBackoffMax) > 24*time.Hour:
		return fmt.Errorf("config: login_backoff_max %s must be between 0 and 24h", time.Duration(c.LoginBackoffMax))
	case c.LoginBurstPerAddress < 0 || c.LoginBurstPerAddress > 100000:
		return fmt.Errorf("config: login_burst_per_address %d must be between 0 and 100000", c.LoginBurstPerAddress)
	case c.SessionIdle < 0 || time.Duration(c.SessionIdle) > identity.DefaultTokenTTL:
		return fmt.Errorf("config: session_idle %s must be between 0 and %s", time.Duration(c.SessionIdle), identity.DefaultTokenTTL)
	}
	return nil
}

// identityOptions are the identity service's options from the config.
func (c *Config) identityOptions() identity.Options {
	return identity.Options{LoginBackoff: identity.LoginBackoff{FreeFailures: c.LoginFreeFailures,
		Max: time.Duration(c.LoginBackoffMax)}, SourceLogins: identity.LoginLimit{Burst: c.LoginBurstPerAddress},
		SessionIdle: time.Duration(c.SessionIdle)}
}
