// airflash dashboard page: plain JS, no build step. Talks only to /api/v1 (same origin).
// Everything from the server is put into the page with textContent, never as HTML.

import { whyParts } from './why.js';

const API = '/api/v1';
const state = {
  devices: new Map(), // id -> device
  selected: new Set(),
  image: null, // {id, name, inspection}: this page's own image (its id is kept per tab)
  rejected: null, // {name, message}: the last file the server refused
  fit: new Map(), // id -> verdict
  runs: new Map(), // device id -> latest job device (progress/result)
  update: null, // the update shown in the table
  passwordOpen: new Set(),
  openDiagnosis: new Set(), // device ids whose diagnosis is unfolded
};

const $ = (sel) => document.querySelector(sel);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, options = {}) {
  const headers = { 'X-Airflash': '1', ...(options.headers ?? {}) };
  let body = options.body;
  if (body !== undefined && !(body instanceof Blob) && !(body instanceof ArrayBuffer)) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(body);
  }
  const res = await fetch(API + path, {
    method: options.method ?? 'GET',
    headers,
    body,
    credentials: 'same-origin',
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(data.error?.message ?? `HTTP ${res.status}`);
    err.hint = data.error?.hint;
    err.code = data.error?.code;
    throw err;
  }
  return data;
}

// ------------------------------------------------------------------ formatting

function bytes(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

function ago(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 10) return 'just now';
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

const PHASES = {
  queued: 'queued',
  preflight: 'checking the image',
  probe: 'checking it answers',
  resolve: 'resolving',
  prepare: 'preparing',
  invite: 'inviting',
  auth: 'authenticating',
  connect: 'waiting for connection',
  transfer: 'sending',
  result: 'waiting for OK',
  done: 'done',
  'retry-wait': 'waiting to retry',
  'reboot-wait': 'waiting for the reboot',
};

function toast(message, kind = 'info') {
  const el = $('#toast');
  el.textContent = message;
  el.className = `toast ${kind}`;
  el.hidden = false;
  el.onclick = () => {
    el.hidden = true;
  };
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    el.hidden = true;
  }, 5000);
}

function showError(err) {
  toast(err.hint ? `${err.message} ${err.hint}` : err.message, 'error');
}

// ------------------------------------------------------------------ device table

function onlineCell(d) {
  if (d.busy) {
    // Held by an update: "updating" only while its turn is on, else it waits for a free slot.
    const running = state.runs.get(d.id)?.state === 'running';
    return h('span', { class: 'state busy' }, running ? 'updating' : 'waiting');
  }
  if (d.online === true)
    return h('span', { class: 'state online', title: `last seen ${ago(d.lastSeen)}` }, 'online');
  if (d.online === false)
    return h('span', { class: 'state offline', title: `last seen ${ago(d.lastSeen)}` }, 'offline');
  return h('span', { class: 'state unknown', title: 'not seen yet' }, 'unknown');
}

function authCell(d) {
  // A device that asks for no password has no scheme and nothing to set.
  if (d.auth.required === false && !d.hasPassword) {
    return h(
      'td',
      { class: 'auth', dataset: { label: 'Auth' } },
      h('span', { class: 'muted' }, 'no password'),
    );
  }
  const scheme = d.auth.scheme === 'sha256' ? 'SHA-256' : d.auth.scheme === 'md5' ? 'MD5' : '';
  let label;
  if (d.hasPassword) label = h('span', { class: 'ok' }, '✓ saved');
  else if (d.auth.required === true) label = h('span', { class: 'warn' }, 'password needed');
  else label = h('span', { class: 'muted' }, 'not known yet');
  const key = h(
    'button',
    {
      class: 'link',
      title: 'Enter or change the OTA password',
      dataset: { action: 'password', id: d.id },
      onclick: (e) => {
        e.preventDefault();
        state.passwordOpen.add(d.id);
        state.selected.add(d.id);
        renderAll();
        $(`#pw-${CSS.escape(d.id)}`)?.focus();
      },
    },
    d.hasPassword ? 'change' : 'set',
  );
  return h(
    'td',
    { class: 'auth', dataset: { label: 'Auth' } },
    label,
    scheme && d.auth.required === true ? h('small', { class: 'muted' }, ` ${scheme}`) : '',
    ' ',
    key,
  );
}

function firmwareCell(d) {
  const fw = d.lastFirmware;
  if (!fw) return h('td', { class: 'muted', dataset: { label: 'Last firmware' } }, '—');
  const version = fw.app?.version ? ` ${fw.app.version}` : '';
  return h(
    'td',
    {
      title: `${fw.name}\n${bytes(fw.size)}\nMD5 ${fw.md5}\n${fw.app ? JSON.stringify(fw.app) : ''}`,
      dataset: { label: 'Last firmware' },
    },
    h('div', {}, `${fw.name}${version}`),
    h('small', { class: 'muted' }, `${fw.md5.slice(0, 8)} · ${ago(fw.at)}`),
  );
}

function fitCell(d) {
  const fit = state.fit.get(d.id);
  if (!state.image || !state.selected.has(d.id)) return h('td', { class: 'muted' }, '');
  if (!fit) return h('td', { class: 'muted', dataset: { label: 'Fit' } }, '…');
  const mark = fit.verdict === 'ok' ? '✓ fits' : fit.verdict === 'warn' ? '? unchecked' : '✗ refused';
  return h(
    'td',
    {
      class: `fit ${fit.verdict}`,
      title: fit.message,
      dataset: { testid: `fit-${d.id}`, verdict: fit.verdict, label: 'Fit' },
    },
    mark,
    fit.verdict !== 'ok'
      ? h('small', {}, fit.message)
      : fit.slotSize
        ? h('small', { class: 'muted' }, `slot ${bytes(fit.slotSize)}`)
        : '',
  );
}

function runCell(d) {
  const run = state.runs.get(d.id);
  const td = h('td', { class: 'run', dataset: { testid: `run-${d.id}`, label: 'Update' } });
  if (!run) return td;
  const pct = run.total > 0 ? Math.floor((run.bytes / run.total) * 100) : 0;
  td.dataset.state = run.state;
  td.dataset.pct = String(run.state === 'ok' ? 100 : pct);
  const bar = h('progress', { max: 100, value: run.state === 'ok' ? 100 : pct, class: run.state });
  let label;
  if (run.state === 'queued') label = 'queued';
  else if (run.state === 'running') {
    const phase = PHASES[run.phase] ?? run.phase ?? 'starting';
    label = run.bytes > 0 ? `${phase} ${pct} %` : `${phase}…`;
  } else if (run.state === 'ok') label = `✓ updated${run.seconds ? ` in ${run.seconds.toFixed(1)} s` : ''}`;
  else {
    const message = run.error?.message ?? run.state;
    const offline = run.error?.offline && !/^offline/i.test(message) ? 'offline — ' : '';
    label = `${run.error?.code === 'ROLLOUT_STOPPED' ? '–' : '✗'} ${offline}${message}`;
  }
  td.append(h('div', { class: 'bar-line' }, bar, h('span', { class: `label ${run.state}` }, label)));
  for (const w of run.warnings ?? []) {
    td.append(h('div', { class: 'warning', dataset: { code: w.code } }, `⚠ ${w.message}`));
  }
  if (run.state === 'running') {
    for (const hint of run.hints ?? []) td.append(h('div', { class: 'hint' }, `ℹ ${hint}`));
  }
  if (run.error && run.state !== 'ok' && run.state !== 'running') {
    const details = whyDetails(d, run);
    if (details) td.append(details);
  }
  return td;
}

/** The "why?" of a failed device (each fact once, see why.js), folded. */
function whyDetails(d, run) {
  const parts = whyParts(run.error, run.hints, h);
  if (parts.length === 0) return null;
  return h(
    'details',
    {
      class: 'diagnosis',
      open: state.openDiagnosis.has(d.id),
      ontoggle: (e) => (e.target.open ? state.openDiagnosis.add(d.id) : state.openDiagnosis.delete(d.id)),
    },
    h('summary', {}, `${run.error.code} — why?`),
    parts,
  );
}

function renderDevices() {
  const tbody = $('#devices tbody');
  const rows = [...state.devices.values()].sort((a, b) =>
    a.name.localeCompare(b.name, 'en', { numeric: true }),
  );
  tbody.replaceChildren(
    ...rows.map((d) =>
      h(
        'tr',
        { dataset: { deviceId: d.id }, class: state.selected.has(d.id) ? 'selected' : '' },
        h(
          'td',
          {},
          h('input', {
            type: 'checkbox',
            checked: state.selected.has(d.id),
            'aria-label': `select ${d.name}`,
            onchange: (e) => {
              if (e.target.checked) state.selected.add(d.id);
              else state.selected.delete(d.id);
              selectionChanged();
            },
          }),
        ),
        h(
          'td',
          { class: 'name' },
          h('strong', {}, d.name),
          h('small', { class: 'muted' }, d.sources.join(', ')),
          d.conflicts?.length
            ? h(
                'small',
                { class: 'warn conflict', dataset: { testid: `conflict-${d.id}` } },
                `⚠ the name "${d.name}" is also used by ${d.conflicts
                  .map((c) => `${c.address}:${c.port} (${c.sources.join(', ')})`)
                  .join(', ')}: not the same device`,
              )
            : '',
        ),
        h('td', { class: 'mono', dataset: { label: 'Address' } }, `${d.address}:${d.port}`),
        h('td', { dataset: { label: 'State' } }, onlineCell(d)),
        h(
          'td',
          { dataset: { label: 'Board' } },
          d.board ?? d.chip ?? '',
          d.core ? h('small', { class: 'muted' }, d.core) : '',
        ),
        authCell(d),
        firmwareCell(d),
        fitCell(d),
        runCell(d),
      ),
    ),
  );
  $('#empty').hidden = rows.length > 0;
}

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

function renderImage() {
  const box = $('#image');
  if (!state.image) {
    if (state.rejected) {
      box.replaceChildren(
        h('h2', {}, 'Firmware'),
        h(
          'p',
          { class: 'bad', dataset: { testid: 'rejected' } },
          `✗ ${state.rejected.name} was refused: ${state.rejected.message}`,
        ),
        h('p', { class: 'muted' }, 'No firmware is chosen: pick another file.'),
      );
      box.hidden = false;
    } else box.hidden = true;
    return;
  }
  const { name, inspection: i } = state.image;
  const app = i.app ?? {};
  const facts = [
    ['File', name],
    ['Size', `${bytes(i.size)} (${i.size} bytes)`],
    ['Kind', i.kind],
    ['Chip', i.chip ?? 'unknown'],
    ['MD5', i.md5],
  ];
  if (app.projectName) facts.push(['Project', app.projectName]);
  if (app.version) facts.push(['Version', app.version]);
  if (app.idfVersion) facts.push(['ESP-IDF', app.idfVersion]);
  if (app.date) facts.push(['Built', `${app.date} ${app.time ?? ''}`.trim()]);
  box.replaceChildren(
    h('h2', {}, 'Firmware'),
    h(
      'dl',
      { class: 'facts', dataset: { testid: 'inspection' } },
      facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    ),
    i.details?.length
      ? h(
          'ul',
          { class: 'details' },
          i.details.map((d) => h('li', {}, d)),
        )
      : '',
    i.warnings?.length
      ? h(
          'ul',
          { class: 'warnings' },
          i.warnings.map((w) => h('li', {}, `⚠ ${w}`)),
        )
      : '',
  );
  box.hidden = false;
}

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

// ------------------------------------------------------------------ history

async function renderHistory() {
  const tbody = $('#history tbody');
  let data;
  try {
    data = await api('/history');
  } catch (err) {
    showError(err);
    return;
  }
  $('#history-empty').hidden = data.updates.length > 0;
  tbody.replaceChildren(
    ...data.updates.flatMap((u) => {
      const result = `${u.summary.ok} ok · ${u.summary.failed} failed${u.summary.skipped ? ` · ${u.summary.skipped} skipped` : ''}`;
      const detail = h(
        'tr',
        { class: 'detail', hidden: true },
        h(
          'td',
          { colspan: 5 },
          h(
            'ul',
            {},
            u.devices.map((d) =>
              h(
                'li',
                { class: d.ok ? 'ok' : d.ok === false ? 'bad' : 'muted' },
                `${d.ok ? '✓' : d.ok === false ? '✗' : '…'} ${d.name} (${d.address}:${d.port})`,
                d.ok === false
                  ? ` — ${d.code ?? ''} ${d.message ?? ''}`
                  : d.seconds
                    ? ` — ${d.seconds.toFixed(1)} s`
                    : '',
              ),
            ),
          ),
        ),
      );
      const row = h(
        'tr',
        { class: 'clickable', onclick: () => (detail.hidden = !detail.hidden) },
        h('td', {}, new Date(u.startedAt).toLocaleString()),
        h(
          'td',
          {},
          u.image.name,
          h('small', { class: 'muted' }, `${bytes(u.image.size)} · ${u.image.md5.slice(0, 8)}`),
        ),
        h('td', {}, String(u.devices.length), u.retryOf ? h('small', { class: 'muted' }, 'retry') : ''),
        h(
          'td',
          { class: u.summary.failed || u.state !== 'done' ? 'bad' : 'ok' },
          u.state === 'done' ? result : `${u.state} — ${result}`,
        ),
        h('td', {}, u.durationMs === null ? '—' : `${(u.durationMs / 1000).toFixed(1)} s`),
      );
      return [row, detail];
    }),
  );
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
