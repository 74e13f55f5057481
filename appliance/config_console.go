package appliance

import (
	"fmt"
	"path"
	"time"

	"cloudlet/web"
)

// maxConsoleTicketTTL keeps a console ticket a short-lived secret: it travels in a URL.
const maxConsoleTicketTTL = 10 * time.Minute

// checkConsole checks the console settings; zero values keep the defaults. A tiny ticket TTL is
// allowed (tests expire tickets with it), a long one is not.
func (c *Config) checkConsole() error {
	switch {
	case c.ConsoleTicketTTL < 0 || time.Duration(c.ConsoleTicketTTL) > maxConsoleTicketTTL:
		return fmt.Errorf("config: console_ticket_ttl %s must be between 0 (the default, %s) and %s",
			time.Duration(c.ConsoleTicketTTL), web.DefaultConsoleTicketTTL, maxConsoleTicketTTL)
	case c.MaxVNCSessionsPerInstance < 0 || c.MaxVNCSessionsPerInstance > 64:
		return fmt.Errorf("config: max_vnc_sessions_per_instance %d must be between 0 (the default, %d) and 64",
			c.MaxVNCSessionsPerInstance, web.DefaultMaxVNCPerInstance)
	}
	for _, o := range c.ConsoleAllowedOrigins {
		if _, err := path.Match(o, ""); err != nil || o == "" || o == "*" {
			return fmt.Errorf("config: console_allowed_origins: %q is not a host pattern (\"*\" would let any site in)", o)
		}
	}
	return nil
}

// consoleOptions are the web server's console settings.
func (c *Config) consoleOptions() web.ConsoleOptions {
	return web.ConsoleOptions{TicketTTL: time.Duration(c.ConsoleTicketTTL), AllowedOrigins: c.ConsoleAllowedOrigins,
		MaxVNCPerInstance: c.MaxVNCSessionsPerInstance}
}
