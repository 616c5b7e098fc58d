// airflash dashboard page: the firmware box (what the chosen file is) and the history tab.

import { $, api, bytes, h, showError, state } from './page.js';

// ------------------------------------------------------------------ firmware

export function renderImage() {
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

// ------------------------------------------------------------------ history

export async function renderHistory() {
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
