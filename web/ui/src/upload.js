// The upload island: creates the image record through the dashboard (POST /images, as JSON), then
// PUTs the raw file to /images/{id}/file with XMLHttpRequest, whose upload progress events move
// the <progress> bar and the aria-live text. The server streams the body to the API as it comes.
// The finished row (active, or killed with its fault) replaces the list's row.

const form = document.getElementById('upload-form');
if (form) form.addEventListener('submit', (ev) => { ev.preventDefault(); upload(form); });

const csrf = (f) => f.querySelector('input[name=csrf_token]').value;

async function upload(f) {
  const file = f.querySelector('#upload-file').files[0];
  const status = f.querySelector('#upload-status');
  const button = f.querySelector('button[type=submit]');
  clearErrors(f);
  if (!file) {
    fieldError(f, 'upload-file', 'Choose a file to upload.');
    return;
  }
  button.disabled = true;
  let img = null;
  try {
    img = await createRecord(f);
    await refreshRow(img.id);
    status.textContent = `Uploading ${file.name}…`;
    const row = await sendFile(f, img.id, file);
    insertRow(row, img.id);
    const done = document.getElementById(`img-${img.id}`);
    status.textContent = `Upload of ${file.name} finished: ${done ? done.dataset.status : 'done'}.`;
    f.reset();
  } catch (err) {
    status.textContent = '';
    if (!err.shown) showFormError(f, err.message);
    if (img) await refreshRow(img.id).catch(() => {}); // a failed upload leaves the image killed, with why
  } finally {
    button.disabled = false;
  }
}

// createRecord creates the queued image; API refusals show next to their fields.
async function createRecord(f) {
  const data = new URLSearchParams(new FormData(f));
  const resp = await fetch('/images', {
    method: 'POST', body: data, credentials: 'same-origin',
    headers: { Accept: 'application/json', 'X-CSRF-Token': csrf(f) },
  });
  const body = await resp.json().catch(() => ({}));
  if (resp.ok) return body;
  const fields = body.fields || {};
  const ids = { name: 'upload-name', disk_format: 'upload-format', visibility: 'upload-visibility' };
  let shown = false;
  for (const [field, msg] of Object.entries(fields)) {
    if (ids[field]) { fieldError(f, ids[field], msg); shown = true; }
  }
  const err = new Error(body.error || `the image could not be created (HTTP ${resp.status})`);
  err.shown = shown;
  throw err;
}

// sendFile PUTs the file and resolves to the finished row's HTML.
function sendFile(f, id, file) {
  const bar = f.querySelector('#upload-progress');
  const status = f.querySelector('#upload-status');
  bar.closest('.upload-progress').hidden = false;
  bar.value = 0;
  let lastSaid = -10;
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `/images/${id}/file`);
    xhr.setRequestHeader('X-CSRF-Token', csrf(f));
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.addEventListener('progress', (ev) => {
      if (!ev.lengthComputable) return;
      const pct = Math.floor((ev.loaded * 100) / ev.total);
      bar.value = pct;
      if (pct >= lastSaid + 10 || pct === 100) { // the live region speaks every 10 %
        lastSaid = pct;
        status.textContent = pct < 100 ? `Uploading ${file.name}: ${pct} %` : `Uploaded ${file.name}; the server is checking it…`;
      }
    });
    xhr.addEventListener('load', () => {
      if (xhr.status === 200) resolve(xhr.responseText);
      else reject(new Error(xhr.responseText.trim() || `upload failed (HTTP ${xhr.status})`));
    });
    xhr.addEventListener('error', () => reject(new Error('the upload was interrupted')));
    xhr.send(file);
  });
}

// refreshRow reads the image's row from the server into the list.
async function refreshRow(id) {
  const resp = await fetch(`/images/${id}/row`, { credentials: 'same-origin' });
  if (resp.ok) insertRow(await resp.text(), id);
}

// insertRow puts a row's HTML into the list, replacing the image's row if it has one.
function insertRow(html, id) {
  const tpl = document.createElement('template');
  tpl.innerHTML = html.trim();
  const row = tpl.content.firstElementChild;
  if (!row) return;
  const old = document.getElementById(`img-${id}`);
  if (old) old.replaceWith(row);
  else {
    const body = document.getElementById('images-rows');
    body.querySelector('tr.empty')?.remove();
    body.prepend(row);
  }
  window.htmx?.process(row); // a row that is still saving polls
}

function fieldError(f, inputID, msg) {
  const input = f.querySelector(`#${inputID}`);
  const p = document.createElement('p');
  p.className = 'field-error';
  p.id = `${inputID}-error`;
  p.textContent = msg;
  input.setAttribute('aria-invalid', 'true');
  const described = (input.getAttribute('aria-describedby') || '').split(' ').filter((d) => d && d !== p.id);
  input.setAttribute('aria-describedby', [...described, p.id].join(' '));
  input.insertAdjacentElement('afterend', p);
}

function showFormError(f, msg) {
  const p = document.createElement('p');
  p.className = 'error';
  p.setAttribute('role', 'alert');
  p.textContent = msg;
  f.prepend(p);
}

function clearErrors(f) {
  f.querySelectorAll('.field-error, .error').forEach((e) => e.remove());
  f.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
}
