// Shared by the console islands: one-time tickets, the visible connection state, reconnecting
// with backoff.

// ticket asks the dashboard for a one-time ticket of kind ("serial" or "vnc") for the console
// element el (its data-tickets route, its data-csrf token) and returns the websocket URL to open.
export async function ticketURL(el, kind) {
  const resp = await fetch(el.dataset.tickets, {
    method: 'POST',
    headers: { 'X-CSRF-Token': el.dataset.csrf, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ kind }),
    credentials: 'same-origin',
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error(body.error || `ticket refused (HTTP ${resp.status})`);
    err.status = resp.status;
    throw err;
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${body.url}`;
}

// showState sets the console's state: the element's data-state (tests wait on it) and the word
// in the status badge (id statusID), with a detail for screen readers and the curious.
export function showState(el, statusID, state, detail = '') {
  el.dataset.state = state;
  const badge = document.getElementById(statusID);
  if (badge) {
    badge.textContent = detail ? `${state}: ${detail}` : state;
    badge.className = `state state-${state}`;
  }
}

// permanent reports whether a ticket refusal will not go away by retrying (no such instance, or
// the role may not): the island then stops and says so.
export function permanent(err) {
  return err.status === 401 || err.status === 403 || err.status === 404;
}

// Backoff is the delay before the next reconnect: 1 s, doubling up to 30 s, reset on success.
export class Backoff {
  constructor() { this.reset(); }
  reset() { this.delay = 1000; }
  next() {
    const d = this.delay;
    this.delay = Math.min(this.delay * 2, 30000);
    return d;
  }
}
