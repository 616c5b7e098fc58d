// The "why?" text of a failed device in the dashboard page. Plain JS module, no build step.
// Every text is put into the page with textContent (through h()), never as HTML.

// Advice meant for the command line (an option such as --force or -a, an environment variable,
// an airflash command): the page has none of these, so such sentences are left out here.
const CLI_ONLY = /(^|[\s("'`])--?[a-z][\w-]*|\bAIRFLASH_[A-Z_]+|\bairflash [a-z]+/;

function sentences(text) {
  return String(text ?? '')
    .split(/(?<=[.!?])\s+(?=[A-Z"'(])/)
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/**
 * The "why?" of a failed device, as page elements (made with `h`): each fact once. The error
 * message is already in the row, so the hint, the diagnosis summary, the causes' titles and their
 * evidence appear only when they say something not said before; command-line advice is left out.
 */
export function whyParts(error, hints, h) {
  const said = new Set();
  const key = (t) =>
    t
      .toLowerCase()
      .replace(/[\s.:;,]+$/g, '')
      .replace(/\s+/g, ' ');
  const fresh = (text) => {
    const kept = sentences(text).filter((t) => !CLI_ONLY.test(t) && !said.has(key(t)));
    for (const t of kept) said.add(key(t));
    return kept.join(' ');
  };
  fresh(error.message);
  const parts = [];
  if (error.deviceText) parts.push(h('p', {}, 'Device said: ', h('code', {}, error.deviceText)));
  const hint = fresh(error.hint);
  if (hint) parts.push(h('p', {}, hint));
  for (const text of hints ?? []) {
    const kept = fresh(text);
    if (kept) parts.push(h('p', { class: 'muted' }, `ℹ ${kept}`));
  }
  const diagnosis = error.diagnosis;
  if (diagnosis?.causes?.length) {
    const summary = fresh(diagnosis.summary);
    if (summary) parts.push(h('p', {}, summary));
    const causes = diagnosis.causes
      .filter((c, i) => i === 0 || c.likelihood !== 'low')
      .slice(0, 4)
      .map((c) => {
        const title = fresh(c.title);
        const seen = c.evidence.map(fresh).filter((t) => t);
        const next = c.next.map(fresh).filter((t) => t);
        if (!title && seen.length === 0 && next.length === 0) return null;
        return h(
          'li',
          { dataset: { cause: c.id } },
          title ? h('strong', {}, title) : '',
          h('small', { class: `likelihood ${c.likelihood}` }, ` ${c.likelihood}`),
          seen.length
            ? h(
                'ul',
                { class: 'seen' },
                seen.map((e) => h('li', {}, `seen: ${e}`)),
              )
            : '',
          next.length
            ? h(
                'ul',
                { class: 'next' },
                next.map((n) => h('li', {}, n)),
              )
            : '',
        );
      })
      .filter((li) => li !== null);
    if (causes.length) parts.push(h('ol', { class: 'causes' }, causes));
  }
  return parts;
}
