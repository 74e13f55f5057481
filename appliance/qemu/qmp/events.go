package qmp

import (
	"encoding/json"
	"fmt"
	"time"
)

// Event is an asynchronous message from QEMU.
type Event struct {
	Name string          // e.g. EventShutdown
	Data json.RawMessage // the event's "data" object; nil when QEMU sent none
	Time time.Time       // QEMU's timestamp; when the connection ended for EventDisconnected
}

// Names of the QEMU events cloudlet reacts to.
const (
	EventShutdown          = "SHUTDOWN"
	EventReset             = "RESET"
	EventStop              = "STOP"
	EventResume            = "RESUME"
	EventPowerdown         = "POWERDOWN"
	EventGuestPanicked     = "GUEST_PANICKED"
	EventDeviceDeleted     = "DEVICE_DELETED"
	EventBlockJobCompleted = "BLOCK_JOB_COMPLETED"
	EventBlockJobCancelled = "BLOCK_JOB_CANCELLED"
	EventBlockJobError     = "BLOCK_JOB_ERROR"
	EventBlockJobReady     = "BLOCK_JOB_READY"
	EventMigration         = "MIGRATION"
)

// EventDisconnected is synthetic: the monitor sends it once, as the last event, when the connection
// ends (EOF, read error, broken by a timeout, or Close). Its Data is {"error": "..."} when the
// connection ended with an error, nil otherwise.
const EventDisconnected = "CLOUDLET_DISCONNECTED"

// ShutdownData is the data of a SHUTDOWN event.
type ShutdownData struct {
	Guest  bool   `json:"guest"`  // the guest asked for it (true) or the host did (false)
	Reason string `json:"reason"` // e.g. "guest-shutdown", "host-qmp-quit", "host-signal"
}

// ParseShutdown decodes the data of a SHUTDOWN event.
func ParseShutdown(e Event) (ShutdownData, error) {
	var d ShutdownData
	if e.Name != EventShutdown {
		return d, fmt.Errorf("parse %s event as %s", e.Name, EventShutdown)
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return d, fmt.Errorf("parse %s event data %s: %w", e.Name, e.Data, err)
	}
	return d, nil
}

// disconnected builds the EventDisconnected event for a connection that ended with cause.
func disconnected(cause error, now time.Time) Event {
	e := Event{Name: EventDisconnected, Time: now}
	if cause != nil {
		e.Data, _ = json.Marshal(map[string]string{"error": cause.Error()})
	}
	return e
}
