package compute

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"time"
)

// agentTimeout bounds each exchange with the QEMU guest agent; a guest without one costs this once.
const agentTimeout = time.Second

// agent is a connection to the QEMU guest agent over the instance's virtio-serial socket.
type agent struct {
	conn net.Conn
	dec  *json.Decoder
}

// dialAgent connects to the guest agent and checks that one answers (guest-sync with a random id).
func dialAgent(path string) (*agent, error) {
	conn, err := net.DialTimeout("unix", path, agentTimeout)
	if err != nil {
		return nil, err
	}
	a := &agent{conn: conn, dec: json.NewDecoder(conn)}
	id := rand.Int64N(1 << 40)
	var got int64
	if err := a.run("guest-sync", map[string]int64{"id": id}, &got); err != nil || got != id {
		conn.Close()
		return nil, fmt.Errorf("no guest agent answers: %v", err)
	}
	return a, nil
}

// run sends one command and decodes its "return" into out, skipping stale replies of earlier syncs.
func (a *agent) run(cmd string, args, out any) error {
	a.conn.SetDeadline(time.Now().Add(agentTimeout))
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	if err := json.NewEncoder(a.conn).Encode(req); err != nil {
		return err
	}
	var reply struct {
		Return json.RawMessage `json:"return"`
		Error  *struct {
			Class, Desc string
		} `json:"error"`
	}
	if err := a.dec.Decode(&reply); err != nil {
		return err
	}
	if reply.Error != nil {
		return fmt.Errorf("guest agent %s: %s: %s", cmd, reply.Error.Class, reply.Error.Desc)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(reply.Return, out)
}

func (a *agent) close() { a.conn.Close() }

// freezeGuest asks the guest agent, when the guest has one, to freeze its filesystems so a live
// snapshot is consistent. The returned thaw must be called; without an agent it does nothing and the
// snapshot is crash-consistent, as with a power cut.
func (sv *supervisor) freezeGuest() (thaw func(), frozen bool) {
	a, err := dialAgent(sv.paths().Agent)
	if err != nil {
		return func() {}, false
	}
	if err := a.run("guest-fsfreeze-freeze", nil, nil); err != nil {
		sv.s.log.Warn("guest agent: freeze", "instance", sv.id, "err", err)
		a.close()
		return func() {}, false
	}
	return func() {
		if err := a.run("guest-fsfreeze-thaw", nil, nil); err != nil {
			sv.s.log.Warn("guest agent: thaw", "instance", sv.id, "err", err)
		}
		a.close()
	}, true
}
