// airflash dashboard page: the device table, one row per device with its state, auth, last
// firmware, fit and the run of the shown update (with its folded "why?").

import { $, ago, bytes, h, hooks, PHASES, state } from './page.js';
import { whyParts } from './why.js';

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
        hooks.renderAll();
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

export function renderDevices() {
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
              hooks.selectionChanged();
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
          d.protocol && d.protocol !== 'arduino-ota'
            ? h('small', { class: 'muted protocol', dataset: { testid: `protocol-${d.id}` } }, d.protocol)
            : '',
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
