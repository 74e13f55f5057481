package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"cloudlet/web/client"
)

var eventHeader = []string{"SEQ", "TIME", "TYPE", "KIND", "ID", "PROJECT"}

// listedEvent is an event of the catalog's log, as the API shows it.
type listedEvent struct {
	Seq       uint64          `json:"seq"`
	Time      time.Time       `json:"time"`
	Type      string          `json:"type"`
	Kind      string          `json:"kind,omitempty"`
	ID        string          `json:"id,omitempty"`
	ProjectID string          `json:"project_id,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

func eventRow(e *listedEvent) []string {
	return []string{strconv.FormatUint(e.Seq, 10), e.Time.Format(time.RFC3339), e.Type, e.Kind, e.ID, e.ProjectID}
}

// eventQuery is what `cloudlet events` asks for.
type eventQuery struct {
	follow   bool
	types    string // comma-separated; a type ending in "." is a prefix
	resource string
	since    uint64
	hasSince bool
}

func newEventsCmd(g *globals) *cobra.Command {
	var q eventQuery
	cmd := &cobra.Command{Use: "events [--follow] [--type T[,T]] [--resource ID] [--since SEQ]",
		Short: "the event log of your project (admins: every project's, or --project's): list it, or follow it live",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q.hasSince = cmd.Flags().Changed("since")
			if q.follow {
				return g.followEvents(cmd.Context(), q)
			}
			return g.listEvents(q)
		}}
	f := cmd.Flags()
	f.BoolVarP(&q.follow, "follow", "f", false, "print new events as they happen (after --since's, when given) until interrupted")
	f.StringVar(&q.types, "type", "", `only events of these types, comma-separated; "instance." is every instance.* type`)
	f.StringVar(&q.resource, "resource", "", "only events about the resource with this ID")
	f.Uint64Var(&q.since, "since", 0, "only events after this sequence number")
	return cmd
}

// listEvents prints the log's events after --since that match, oldest first (-o json: a JSON list).
func (g *globals) listEvents(q eventQuery) error {
	out := []listedEvent{}
	for since := q.since; ; {
		var page []listedEvent
		if err := g.call("GET", fmt.Sprintf("/api/v1/events?since=%d&limit=%d", since, eventPage), nil, &page); err != nil {
			return err
		}
		for i := range page {
			if q.matches(&page[i]) {
				out = append(out, page[i])
			}
			since = page[i].Seq
		}
		if len(page) < eventPage {
			break
		}
	}
	rows := make([][]string, len(out))
	for i := range out {
		rows[i] = eventRow(&out[i])
	}
	return g.print(out, eventHeader, rows)
}

// eventPage is how many events one list request asks for (the API's maximum).
const eventPage = 5000

// matches filters a listed event as the stream's ?type= and ?resource= do.
func (q eventQuery) matches(e *listedEvent) bool {
	if q.resource != "" && e.ID != q.resource {
		return false
	}
	if q.types == "" {
		return true
	}
	for _, t := range strings.Split(q.types, ",") {
		t = strings.TrimSpace(t)
		if e.Type == t || (strings.HasSuffix(t, ".") && strings.HasPrefix(e.Type, t)) {
			return true
		}
	}
	return false
}

// followEvents prints events from the stream as they come (-o json: one JSON object a line) until
// interrupted. A stream closed because this client fell behind is resumed where it stopped.
func (g *globals) followEvents(ctx context.Context, q eventQuery) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	params := url.Values{}
	if q.types != "" {
		params.Set("type", q.types)
	}
	if q.resource != "" {
		params.Set("resource", q.resource)
	}
	lastID := ""
	if q.hasSince {
		lastID = strconv.FormatUint(q.since, 10)
	}
	for {
		last, err := g.printStream(ctx, params, lastID)
		if ctx.Err() != nil {
			return nil
		}
		if !errors.Is(err, errResume) {
			return err
		}
		lastID = last
	}
}

// errResume ends a stream the server closed because this client fell behind.
var errResume = errors.New("resume")

// printStream prints one stream's events; it returns the last seq seen when the stream ends.
func (g *globals) printStream(ctx context.Context, params url.Values, lastID string) (string, error) {
	st, err := g.client().Events(ctx, params, lastID)
	if err != nil {
		return lastID, err
	}
	defer st.Close()
	for {
		e, err := st.Next()
		if err == io.EOF && lastID != "" {
			return lastID, errors.New("the event stream ended (the daemon stopped?): resume with --since " + lastID)
		}
		if err == io.EOF {
			return lastID, errors.New("the event stream ended (the daemon stopped?)")
		}
		if err != nil {
			return lastID, err
		}
		if e.Seq != 0 {
			lastID = strconv.FormatUint(e.Seq, 10)
		}
		switch e.Type {
		case client.EventStreamOverflow:
			return lastID, errResume
		case client.EventStreamEnd:
			return lastID, fmt.Errorf("the event stream ended: %s", e.Data)
		case client.EventStreamGap:
			fmt.Fprintf(g.stderr, "warning: events were pruned from the log before they could be shown: %s\n", e.Data)
			continue
		}
		if err := g.printEvent(e); err != nil {
			return lastID, err
		}
	}
}

func (g *globals) printEvent(e client.Event) error {
	if g.output == "json" {
		_, err := fmt.Fprintf(g.stdout, "%s\n", e.Data)
		return err
	}
	var le listedEvent
	if err := json.Unmarshal(e.Data, &le); err != nil {
		return fmt.Errorf("event %d: %w", e.Seq, err)
	}
	_, err := fmt.Fprintln(g.stdout, strings.Join(eventRow(&le), "  "))
	return err
}
