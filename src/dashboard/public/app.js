// airflash dashboard page: plain JS, no build step. Talks only to /api/v1 (same origin).
// Everything from the server is put into the page with textContent, never as HTML.

import { renderDevices } from './device-table.js';
import { $, API, api, h, hooks, showError, state, toast } from './page.js';
import { renderHistory, renderImage } from './panels.js';

/** The selected devices the current image would be sent to (not refused by the fit check). */
function sendable() {
  return [...state.selected].filter((id) => state.fit.get(id)?.verdict !== 'refuse');
}

function renderToolbar() {
  const n = state.selected.size;
  const refused = n - sendable().length;
  const checking = state.image && [...state.selected].some((id) => !state.fit.has(id));
  $('#selection').textContent =
    n === 0 ? 'no device selected' : `${n} selected${refused ? ` · ${refused} refused, not sent` : ''}`;
  const button = $('#update');
  const go = n - refused;
  button.disabled = !state.image || go === 0 || checking || isBusySelection();
  button.textContent = !state.image
    ? 'Choose a firmware first'
    : n === 0
      ? 'Select devices'
      : checking
        ? 'Checking the firmware…'
        : go === 0
          ? 'Nothing to update: the firmware does not fit'
          : `Update ${go} device${go === 1 ? '' : 's'}`;
  $('#canary').max = String(Math.max(0, n));
  const retry = $('#retry');
  retry.hidden = !(
    state.update &&
    state.update.state !== 'running' &&
    state.update.summary.failed + state.update.summary.skipped > 0
  );
}

function isBusySelection() {
  return [...state.selected].some((id) => state.devices.get(id)?.busy);
}

function renderPasswords() {
  const box = $('#passwords');
  const need = [...state.selected]
    .map((id) => state.devices.get(id))
    .filter((d) => d && (state.passwordOpen.has(d.id) || (d.auth.required === true && !d.hasPassword)));
  box.hidden = need.length === 0;
  const keep = new Map([...box.querySelectorAll('input')].map((i) => [i.dataset.id, i.value]));
  box.replaceChildren(
    h(
      'span',
      { class: 'muted' },
      'Passwords (saved on this computer with owner-only access, never shown again):',
    ),
    ...need.map((d) =>
      h(
        'label',
        {},
        d.name,
        h('input', {
          type: 'password',
          id: `pw-${d.id}`,
          autocomplete: 'off',
          placeholder: d.hasPassword ? 'saved — type to replace' : 'OTA password',
          dataset: { id: d.id },
          value: keep.get(d.id) ?? '',
        }),
      ),
    ),
  );
}

function renderAll() {
  renderDevices();
  renderToolbar();
  renderPasswords();
}

function selectionChanged() {
  renderAll();
  refreshFit();
}

// ------------------------------------------------------------------ firmware

async function uploadFile(file) {
  if (!file) return;
  $('#drop').classList.add('busy');
  try {
    const data = await api('/images', {
      method: 'POST',
      body: file,
      headers: { 'Content-Type': 'application/octet-stream', 'X-Filename': encodeURIComponent(file.name) },
    });
    forgetImage();
    keepImage(data.image);
    $('#toast').hidden = true;
    renderImage();
    await refreshFit();
  } catch (err) {
    // A refused file leaves no firmware chosen: Update cannot send the previous one.
    forgetImage();
    state.rejected = { name: file.name, message: err.message };
    renderImage();
    renderAll();
    showError(err);
  } finally {
    $('#drop').classList.remove('busy');
    $('#firmware-input').value = '';
  }
}

/** Make `image` this page's firmware (its id is kept for this tab only). */
function keepImage(image) {
  state.image = image;
  state.rejected = null;
  state.fit.clear();
  try {
    sessionStorage.setItem('airflash-image', image.id);
  } catch {}
}

/** Drop this page's firmware; an image it uploaded itself is deleted on the server too. */
function forgetImage() {
  const old = state.image;
  state.image = null;
  state.fit.clear();
  try {
    sessionStorage.removeItem('airflash-image');
  } catch {}
  if (old && !old.preloaded) {
    api(`/images/${encodeURIComponent(old.id)}`, { method: 'DELETE' }).catch(() => {});
  }
}

let fitSeq = 0;
async function refreshFit() {
  renderAll();
  if (!state.image || state.selected.size === 0) return;
  const seq = ++fitSeq;
  try {
    const ids = [...state.selected].map(encodeURIComponent).join(',');
    const data = await api(`/images/${encodeURIComponent(state.image.id)}?devices=${ids}`);
    if (seq !== fitSeq) return;
    for (const f of data.fit) state.fit.set(f.device, f);
  } catch (err) {
    if (err.code === 'NOT_FOUND' && state.image) {
      // The server no longer keeps this image (deleted, or the oldest of too many): nothing to send.
      const name = state.image.name;
      state.image = null;
      state.fit.clear();
      state.rejected = { name, message: 'it is no longer kept on the server; choose it again.' };
      renderImage();
    }
    showError(err);
  }
  renderAll();
}

// ------------------------------------------------------------------ updates

function showUpdate(update) {
  state.update = update;
  for (const d of update.devices) state.runs.set(d.id, d);
  renderAll();
}

async function startUpdate() {
  const passwords = {};
  for (const input of $('#passwords').querySelectorAll('input')) {
    if (input.value) passwords[input.dataset.id] = input.value;
  }
  const body = {
    imageId: state.image.id,
    devices: sendable(),
    parallel: Number($('#parallel').value) || 4,
    canary: Number($('#canary').value) || 0,
    passwords,
  };
  try {
    const data = await api('/updates', { method: 'POST', body });
    for (const input of $('#passwords').querySelectorAll('input')) input.value = '';
    state.passwordOpen.clear();
    for (const id of state.selected) state.runs.delete(id);
    showUpdate(data.update);
  } catch (err) {
    showError(err);
  }
}

async function retryFailed() {
  if (!state.update) return;
  try {
    const data = await api(`/updates/${encodeURIComponent(state.update.id)}/retry`, {
      method: 'POST',
      body: {},
    });
    showUpdate(data.update);
  } catch (err) {
    showError(err);
  }
}

async function probeDevices() {
  const ids = state.selected.size > 0 ? [...state.selected] : [...state.devices.keys()];
  const button = $('#probe');
  button.disabled = true;
  button.textContent = 'Checking…';
  try {
    const data = await api('/probe', { method: 'POST', body: { devices: ids, timeoutMs: 5000 } });
    const online = data.results.filter((r) => r.online).length;
    const busy = data.results.filter((r) => r.skipped).length;
    const offline = data.results.length - online - busy;
    toast(`${online} answered, ${offline} did not${busy ? `, ${busy} busy` : ''}.`, offline ? 'error' : 'ok');
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
    button.textContent = 'Check';
  }
}

function showView(name) {
  for (const tab of document.querySelectorAll('[role=tab]')) {
    tab.setAttribute('aria-selected', String(tab.dataset.view === name));
  }
  $('#view-devices').hidden = name !== 'devices';
  $('#view-history').hidden = name !== 'history';
  if (name === 'history') renderHistory();
}

// ------------------------------------------------------------------ live events

function connect() {
  const es = new EventSource(`${API}/events`);
  const conn = $('#conn');
  es.onopen = () => {
    conn.textContent = 'live';
    conn.className = 'conn live';
    load();
  };
  es.onerror = () => {
    conn.textContent = 'reconnecting…';
    conn.className = 'conn down';
  };
  es.addEventListener('device', (e) => {
    const d = JSON.parse(e.data);
    state.devices.set(d.id, d);
    renderDevices();
    renderToolbar();
  });
  const onRun = (e) => {
    const d = JSON.parse(e.data);
    if (state.update && d.update !== state.update.id) return;
    state.runs.set(d.id, d);
    if (state.update) {
      const i = state.update.devices.findIndex((x) => x.id === d.id);
      if (i >= 0) state.update.devices[i] = d;
    }
    renderDevices();
  };
  es.addEventListener('device-progress', onRun);
  es.addEventListener('device-result', onRun);
  es.addEventListener('update', (e) => {
    const u = JSON.parse(e.data);
    if (!state.update || state.update.id === u.id || u.state === 'running') {
      const finished = state.update?.id === u.id && state.update.state === 'running' && u.state !== 'running';
      showUpdate(u);
      if (finished) {
        const s = u.summary;
        toast(
          `Update finished: ${s.ok} ok, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped` : ''}.`,
          s.failed ? 'error' : 'ok',
        );
      }
    }
    if (!$('#view-history').hidden) renderHistory();
  });
}

async function load() {
  try {
    const [devices, updates, images] = await Promise.all([api('/devices'), api('/updates'), api('/images')]);
    state.devices = new Map(devices.devices.map((d) => [d.id, d]));
    if (!state.image && !state.rejected) {
      // This tab's own image (after a reload), else one the dashboard preloaded (the demo's
      // sample) — never an image another page or script uploaded.
      let mine = null;
      try {
        mine = sessionStorage.getItem('airflash-image');
      } catch {}
      const image = images.images.find((i) => i.id === mine) ?? images.images.find((i) => i.preloaded);
      if (image) {
        keepImage(image);
        renderImage();
        refreshFit();
      }
    }
    const latest = updates.updates[0];
    if (latest && (!state.update || state.update.id === latest.id)) showUpdate(latest);
    renderAll();
  } catch (err) {
    showError(err);
  }
}

// ------------------------------------------------------------------ wiring

function init() {
  hooks.renderAll = renderAll;
  hooks.selectionChanged = selectionChanged;
  for (const tab of document.querySelectorAll('[role=tab]')) {
    tab.addEventListener('click', () => showView(tab.dataset.view));
  }
  $('#firmware-input').addEventListener('change', (e) => uploadFile(e.target.files[0]));
  const drop = $('#drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    uploadFile(e.dataTransfer.files[0]);
  });
  $('#select-all').addEventListener('change', (e) => {
    state.selected.clear();
    if (e.target.checked)
      for (const d of state.devices.values()) if (d.online !== false) state.selected.add(d.id);
    selectionChanged();
  });
  $('#update').addEventListener('click', startUpdate);
  $('#retry').addEventListener('click', retryFailed);
  $('#probe').addEventListener('click', probeDevices);
  $('#add-device').addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const body = {};
    for (const [k, v] of form.entries()) if (v !== '') body[k] = k === 'port' ? Number(v) : v;
    try {
      const data = await api('/devices', { method: 'POST', body });
      state.devices.set(data.device.id, data.device);
      e.target.reset();
      renderAll();
      toast(`Added ${data.device.name}.`, 'ok');
    } catch (err) {
      showError(err);
    }
  });
  setInterval(renderDevices, 30_000); // keep "last seen" fresh
  connect();
}

init();
