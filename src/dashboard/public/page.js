// airflash dashboard page: what every part of the page shares: the state, the DOM helper `h`,
// the API call, formatting, toasts. Everything from the server is put in with textContent.

export const API = '/api/v1';
export const state = {
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

export const $ = (sel) => document.querySelector(sel);

export function h(tag, attrs = {}, ...children) {
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

export async function api(path, options = {}) {
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

export function bytes(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 10) return 'just now';
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

export const PHASES = {
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

export function toast(message, kind = 'info') {
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

export function showError(err) {
  toast(err.hint ? `${err.message} ${err.hint}` : err.message, 'error');
}

/** What the page's parts call back into (set by app.js, which owns the wiring). */
export const hooks = {
  renderAll: () => {},
  selectionChanged: () => {},
};
