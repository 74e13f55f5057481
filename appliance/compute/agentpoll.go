package compute

import (
	"context"
	"errors"
	"time"

	"cloudlet/appliance/qemu/qga"
)

// GuestInfo is what a running guest's QEMU guest agent last said about it (guest_agent in show). It
// lives in memory only: it is volatile, and the catalog's records stay what the list copies.
type GuestInfo struct {
	Hostname   string           `json:"hostname,omitempty"`
	OS         string           `json:"os,omitempty"`
	Interfaces []GuestInterface `json:"addresses,omitempty"`
	UpdatedAt  time.Time        `json:"updated_at"`
}

// GuestInterface is one network interface of the guest: its name, MAC and addresses with their
// prefix length (10.0.0.5/24), as the agent reports them, checked and capped.
type GuestInterface struct {
	Interface string   `json:"interface"`
	MAC       string   `json:"mac,omitempty"`
	IPs       []string `json:"ips,omitempty"`
}

// agentPoll is the poller of one boot.
type agentPoll struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startAgentPoll starts asking the guest agent about the guest of this boot: soon after boot and
// every AgentProbeInterval until it has answered and told whether the guest is up (agentready.go),
// then every AgentPollInterval.
func (sv *supervisor) startAgentPoll() {
	sv.stopAgentPoll()
	ctx, cancel := context.WithCancel(sv.s.ctx)
	p := &agentPoll{cancel: cancel, done: make(chan struct{})}
	sv.agentPoll = p
	sv.s.goBackground(func() {
		defer close(p.done)
		sv.s.pollAgent(ctx, sv.id, sv.agent)
	})
}

// stopAgentPoll ends the poller (at once: its connection closes with its context) and forgets what
// the agent said.
func (sv *supervisor) stopAgentPoll() {
	if p := sv.agentPoll; p != nil {
		p.cancel()
		<-p.done
		sv.agentPoll = nil
	}
	sv.agent.forget()
}

func (s *Service) pollAgent(ctx context.Context, id string, a *guestAgent) {
	t := time.NewTimer(s.o.AgentProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.askAgent(ctx, id, a)
		next := s.o.AgentPollInterval
		if a.busy() {
			next = s.o.AgentProbeInterval
		}
		t.Reset(next)
	}
}

// askAgent asks the agent once: until it is settled, whether the guest is up (which marks it ready;
// the first source in a boot wins) and, when every part of the answer is good, the guest info; a
// command the agent refuses (an old or restricted agent) leaves its field empty.
func (s *Service) askAgent(ctx context.Context, id string, a *guestAgent) {
	c, release, err := a.open(ctx)
	if err != nil {
		s.agentFailed(id, a, err)
		return
	}
	defer release()
	a.mu.Lock()
	a.answered = true
	settled := a.settled
	a.mu.Unlock()
	if !settled {
		if err := s.settleReadiness(ctx, c, id, a); err != nil {
			s.agentFailed(id, a, err)
			return
		}
	}
	info, err := readGuestInfo(c)
	if err != nil {
		s.agentFailed(id, a, err)
		return
	}
	info.UpdatedAt = s.now()
	a.mu.Lock()
	a.info, a.lastErr = info, ""
	a.mu.Unlock()
}

// readGuestInfo asks for the host name, OS and interfaces; a protocol error (flood, garbage,
// silence, a lie) fails it all, an error reply of the agent leaves that part empty.
func readGuestInfo(c *qga.Client) (*GuestInfo, error) {
	info := &GuestInfo{}
	var refused *qga.Error
	var err error
	if info.Hostname, err = c.HostName(); err != nil && !errors.As(err, &refused) {
		return nil, err
	}
	if info.OS, err = c.OSInfo(); err != nil && !errors.As(err, &refused) {
		return nil, err
	}
	ifs, err := c.Interfaces()
	if err != nil && !errors.As(err, &refused) {
		return nil, err
	}
	for _, in := range ifs {
		gi := GuestInterface{Interface: in.Name, MAC: in.MAC}
		for _, p := range in.IPs {
			gi.IPs = append(gi.IPs, p.String())
		}
		info.Interfaces = append(info.Interfaces, gi)
	}
	return info, nil
}

// agentFailed logs a failed poll: a guest without an agent at debug level, anything else (an agent
// that floods, garbles, lies, or stopped answering) as a warning, once until the failure changes.
func (s *Service) agentFailed(id string, a *guestAgent, err error) {
	a.mu.Lock()
	repeat := err.Error() == a.lastErr
	a.lastErr = err.Error()
	quiet := noAgent(err) && !a.answered
	a.mu.Unlock()
	switch {
	case quiet:
		s.log.Debug("guest agent: no answer", "instance", id, "err", err)
	case !repeat:
		s.log.Warn("guest agent: bad or no answer; keeping the last good guest info", "instance", id, "err", err)
	}
}

// GuestAgentInfo returns what the running instance's guest agent last said, or nil.
func (s *Service) GuestAgentInfo(id string) *GuestInfo {
	s.mu.Lock()
	sv := s.sups[id]
	s.mu.Unlock()
	if sv == nil {
		return nil
	}
	sv.agent.mu.Lock()
	defer sv.agent.mu.Unlock()
	return sv.agent.info
}

// InstanceDetail is an instance as show answers it: the record and what its guest agent says.
type InstanceDetail struct {
	*Instance
	GuestAgent *GuestInfo `json:"guest_agent,omitempty"`
}

// Show returns an instance with its guest agent's information (Get plus memory; never asks QEMU).
func (s *Service) Show(ctx context.Context, projectID, idOrName string) (*InstanceDetail, error) {
	inst, err := s.Get(ctx, projectID, idOrName)
	if err != nil {
		return nil, err
	}
	return &InstanceDetail{Instance: inst, GuestAgent: s.GuestAgentInfo(inst.ID)}, nil
}
