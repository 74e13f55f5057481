// The serial console island: xterm.js attached to the API's serial console websocket, which
// streams what the guest prints from the moment it attaches; the console log's tail, read just
// before, comes first. Keystrokes go as text frames. A dropped connection reconnects with backoff,
// on a fresh ticket, into a cleared terminal.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { AttachAddon } from '@xterm/addon-attach';
import { keepConnected } from './lib/console.js';

const el = document.getElementById('serial');
if (el) start(el);

function start(el) {
  const term = new Terminal({ cursorBlink: true, scrollback: 5000, fontSize: 14 });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(el);
  fit.fit();
  new ResizeObserver(() => fit.fit()).observe(el);

  let ws = null;
  const conn = keepConnected(el, 'serial-status', 'serial', async (url, conn) => {
    const history = await consoleHistory(el);
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    let attach = null;
    ws.addEventListener('open', () => {
      term.reset();
      term.write(history); // the websocket streams only what comes after it attaches
      attach = new AttachAddon(ws);
      term.loadAddon(attach);
      conn.connected();
      term.focus();
    });
    ws.addEventListener('close', (ev) => {
      attach?.dispose();
      ws = null;
      conn.lost(ev.reason || `closed (${ev.code})`);
    });
  });

  document.getElementById('serial-reconnect')?.addEventListener('click', () => {
    if (ws) ws.close(); // its close reconnects
    conn.reconnect();
  });
}

// consoleHistory is the tail of the console log (data-history), or nothing when it cannot be read
// (a reader's role may watch the console but not read its log).
async function consoleHistory(el) {
  try {
    const resp = await fetch(el.dataset.history, { credentials: 'same-origin' });
    return resp.ok ? new Uint8Array(await resp.arrayBuffer()) : new Uint8Array();
  } catch {
    return new Uint8Array();
  }
}
