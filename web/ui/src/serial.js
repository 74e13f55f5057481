// The serial console island: xterm.js attached to the API's serial console websocket. On attach
// the API replays the console log's tail and then streams; keystrokes go as text frames. A dropped
// connection reconnects with backoff, on a fresh ticket, into a cleared terminal.
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
  const conn = keepConnected(el, 'serial-status', 'serial', (url, conn) => {
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    let attach = null;
    ws.addEventListener('open', () => {
      term.reset(); // the API replays the log's tail: start from a clean screen
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
