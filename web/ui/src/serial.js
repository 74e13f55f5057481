// The serial console island: xterm.js attached to the API's serial console websocket. On attach
// the API replays the console log's tail and then streams; keystrokes go as text frames. A dropped
// connection reconnects with backoff, on a fresh ticket, into a cleared terminal.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { AttachAddon } from '@xterm/addon-attach';
import { ticketURL, showState, permanent, Backoff } from './lib/console.js';

const el = document.getElementById('serial');
if (el) start(el);

function start(el) {
  const term = new Terminal({ convertEol: false, cursorBlink: true, scrollback: 5000, fontSize: 14 });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(el);
  fit.fit();
  new ResizeObserver(() => fit.fit()).observe(el);

  const backoff = new Backoff();
  let ws = null, attach = null, timer = null;
  const state = (s, d) => showState(el, 'serial-status', s, d);

  async function connect() {
    clearTimeout(timer);
    state('connecting');
    let url;
    try {
      url = await ticketURL(el, 'serial');
    } catch (err) {
      return permanent(err) ? state('failed', err.message) : retry(err.message);
    }
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('open', () => {
      backoff.reset();
      term.reset();
      attach = new AttachAddon(ws);
      term.loadAddon(attach);
      state('connected');
      term.focus();
    });
    ws.addEventListener('close', (ev) => {
      attach?.dispose();
      attach = null;
      retry(ev.reason || `closed (${ev.code})`);
    });
  }

  function retry(why) {
    const d = backoff.next();
    state('reconnecting', `${why}; again in ${Math.round(d / 1000)} s`);
    timer = setTimeout(connect, d);
  }

  document.getElementById('serial-reconnect')?.addEventListener('click', () => {
    backoff.reset();
    if (ws && ws.readyState <= WebSocket.OPEN) {
      ws.close(); // its close handler reconnects
    } else {
      connect();
    }
  });
  connect();
}
