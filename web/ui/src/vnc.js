// The screen island: noVNC's RFB client on the API's VNC websocket (shared, scaled to fit), a
// toolbar (Ctrl-Alt-Del, focus/release, full screen, reconnect) and a visible connection state.
// The element gets data-state="connected" on connect. A dropped connection reconnects with
// backoff on a fresh ticket.
import RFB from '@novnc/novnc';
import { ticketURL, showState, permanent, Backoff } from './lib/console.js';

const el = document.getElementById('vnc');
if (el) start(el);

function start(el) {
  const backoff = new Backoff();
  let rfb = null, timer = null;
  const state = (s, d) => showState(el, 'vnc-status', s, d);
  const focusButton = document.getElementById('vnc-focus');

  async function connect() {
    clearTimeout(timer);
    state('connecting');
    let url;
    try {
      url = await ticketURL(el, 'vnc');
    } catch (err) {
      return permanent(err) ? state('failed', err.message) : retry(err.message);
    }
    rfb = new RFB(el, url, { shared: true, wsProtocols: ['binary'] });
    rfb.scaleViewport = true;
    rfb.background = 'rgb(0, 0, 0)';
    rfb.addEventListener('connect', () => { backoff.reset(); state('connected'); });
    rfb.addEventListener('disconnect', (ev) => {
      rfb = null;
      setFocused(false);
      retry(ev.detail.clean ? 'disconnected' : 'connection lost');
    });
    rfb.addEventListener('securityfailure', (ev) => state('failed', ev.detail.reason || 'security failure'));
  }

  function retry(why) {
    const d = backoff.next();
    state('reconnecting', `${why}; again in ${Math.round(d / 1000)} s`);
    timer = setTimeout(connect, d);
  }

  function setFocused(on) {
    if (!focusButton) return;
    focusButton.setAttribute('aria-pressed', String(on));
    focusButton.textContent = on ? 'Release' : 'Focus console';
  }

  el.addEventListener('focusin', () => setFocused(true));
  el.addEventListener('focusout', () => setFocused(false));
  focusButton?.addEventListener('click', () => {
    if (!rfb) return;
    if (focusButton.getAttribute('aria-pressed') === 'true') {
      rfb.blur();
      focusButton.focus();
    } else {
      rfb.focus();
    }
  });
  document.getElementById('vnc-cad')?.addEventListener('click', () => rfb?.sendCtrlAltDel());
  document.getElementById('vnc-fullscreen')?.addEventListener('click', () => el.requestFullscreen?.());
  document.getElementById('vnc-reconnect')?.addEventListener('click', () => {
    backoff.reset();
    if (rfb) {
      rfb.disconnect(); // its disconnect handler reconnects
    } else {
      connect();
    }
  });
  connect();
}
