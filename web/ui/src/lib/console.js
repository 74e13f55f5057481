// Shared by the console islands: one-time tickets, the visible connection state, reconnecting
// with backoff.

// ticket asks the dashboard for a one-time ticket of kind ("serial" or "vnc") for the console
// element el (its data-tickets route, its data-csrf token) and returns the websocket URL to open.
async function ticketURL(el, kind) {
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
function showState(el, statusID, state, detail = '') {
  el.dataset.state = state;
  const badge = document.getElementById(statusID);
  if (badge) {
    badge.textContent = detail ? `${state}: ${detail}` : state;
    badge.className = `state state-${state}`;
  }
}

// keepConnected keeps a console connected: it asks for a ticket of kind, calls open(url, conn) to
// open the console with it, and reconnects with backoff whenever open's connection reports
// conn.lost(why). open reports conn.connected() once the console is up. A refusal that retrying
// cannot cure (permanent) stops with the state "failed". conn.reconnect() retries at once when no
// connection is up or under way; the caller closes a live one itself, which then reports lost.
export function keepConnected(el, statusID, kind, open) {
  const backoff = new Backoff();
  let timer = null;
  const state = (s, d) => showState(el, statusID, s, d);
  const conn = {
    connected() { backoff.reset(); state('connected'); },
    lost(why) {
      const d = backoff.next();
      state('reconnecting', `${why}; again in ${Math.round(d / 1000)} s`);
      timer = setTimeout(connect, d);
    },
    reconnect() {
      backoff.reset();
      if (el.dataset.state === 'reconnecting' || el.dataset.state === 'failed') connect();
    },
  };
  async function connect() {
    clearTimeout(timer);
    state('connecting');
    let url;
    try {
      url = await ticketURL(el, kind);
    } catch (err) {
      if (permanent(err)) state('failed', err.message);
      else conn.lost(err.message);
      return;
    }
    open(url, conn);
  }
  connect();
  return conn;
}

// permanent reports whether a ticket refusal will not go away by retrying (no such instance, or
// the role may not): the island then stops and says so.
function permanent(err) {
  return err.status === 401 || err.status === 403 || err.status === 404;
}

// Backoff is the delay before the next reconnect: 1 s, doubling up to 30 s, reset on success.
class Backoff {
  constructor() { this.reset(); }
  reset() { this.delay = 1000; }
  next() {
    const d = this.delay;
    this.delay = Math.min(this.delay * 2, 30000);
    return d;
  }
}
