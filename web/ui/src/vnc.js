// The screen island: noVNC's RFB client on the API's VNC websocket (shared, scaled to fit), a
// toolbar (Ctrl-Alt-Del, focus/release, full screen, reconnect) and a visible connection state.
// The element gets data-state="connected" on connect. A dropped connection reconnects with
// backoff on a fresh ticket.
import RFB from '@novnc/novnc';
import { keepConnected } from './lib/console.js';

const el = document.getElementById('vnc');
if (el) start(el);

function start(el) {
  let rfb = null;
  const focusButton = document.getElementById('vnc-focus');
  const conn = keepConnected(el, 'vnc-status', 'vnc', (url, conn) => {
    rfb = new RFB(el, url, { shared: true, wsProtocols: ['binary'] });
    rfb.scaleViewport = true;
    rfb.background = 'rgb(0, 0, 0)';
    rfb.addEventListener('connect', () => conn.connected());
    rfb.addEventListener('disconnect', (ev) => {
      rfb = null;
      setFocused(false);
      conn.lost(ev.detail.clean ? 'disconnected' : 'connection lost');
    });
  });

  function setFocused(on) {
    if (!focusButton) return;
    focusButton.setAttribute('aria-pressed', String(on));
    focusButton.textContent = on ? 'Release' : 'Focus console';
  }

  // While the screen has the focus it takes every key, Tab included: Ctrl+Alt+Shift (seen before
  // noVNC sees it) gives the keyboard back, as does clicking elsewhere or the Release button.
  el.addEventListener('focusin', () => setFocused(true));
  el.addEventListener('focusout', () => setFocused(false));
  el.addEventListener('keydown', (ev) => {
    if (!(ev.ctrlKey && ev.altKey && ev.shiftKey)) return;
    ev.preventDefault();
    ev.stopPropagation();
    rfb?.blur();
    focusButton?.focus();
  }, true);
  let hadFocus = false; // whether the screen had the focus when the button was pressed (pressing moves it)
  focusButton?.addEventListener('pointerdown', () => { hadFocus = el.contains(document.activeElement); });
  focusButton?.addEventListener('click', () => {
    if (hadFocus) rfb?.blur();
    else rfb?.focus();
    hadFocus = false;
  });
  document.getElementById('vnc-cad')?.addEventListener('click', () => rfb?.sendCtrlAltDel());
  document.getElementById('vnc-fullscreen')?.addEventListener('click', () => el.requestFullscreen?.());
  document.getElementById('vnc-reconnect')?.addEventListener('click', () => {
    if (rfb) rfb.disconnect(); // its disconnect reconnects
    conn.reconnect();
  });
}
