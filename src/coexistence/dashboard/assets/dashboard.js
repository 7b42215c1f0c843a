// The operator dashboard page: reads /dashboard/api/*, listens to the live stream, draws
// the throughput with uPlot. Data only ever goes into the page as text (textContent),
// never as HTML, so nothing from a directory or a mailbox can inject markup.

(() => {
  const $ = (sel) => document.querySelector(sel);

  /** el('td', {class: 'num'}, 'text', child…): an element with text children only. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else e.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  const pct = (f) => `${Math.floor(Math.max(0, Math.min(1, f)) * 100)}%`;
  const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
  const num = (n) => Number(n || 0).toLocaleString('en');
  const time = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
  function duration(s) {
    if (s === null || s === undefined) return '—';
    if (s < 90) return `${Math.round(s)} s`;
    if (s < 5400) return `${Math.round(s / 60)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  }

  async function getJson(url) {
    const r = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } });
    if (r.status === 401) {
      location.assign('/dashboard/login');
      throw new Error('logged out');
    }
    const body = await r.json();
    if (!r.ok) throw new Error(body.message || `HTTP ${r.status}`);
    return body;
  }

  // --- batches ------------------------------------------------------------------------
  let openBatch = null;

  function batchCard(b) {
    const eta = b.eta;
    let etaText = '—';
    if (b.status === 'running')
      etaText = eta.seconds === null ? 'no recent copy rate' : `${duration(eta.seconds)} (at ${time(eta.finishesAt)})`;
    const fits =
      eta.fitsWindow === null
        ? null
        : eta.fitsWindow
          ? el('span', { class: 'fits-yes' }, 'fits the window')
          : el('span', { class: 'fits-no' }, 'will NOT fit the window');
    const chips = el(
      'div',
      { class: 'chips' },
      ...Object.entries(b.byState).map(([s, n]) => el('span', { class: `chip ${s}`, 'data-state': s }, `${s} ${n}`)),
    );
    const card = el(
      'article',
      { class: 'card', 'data-batch': b.name },
      el('h3', {}, el('span', {}, b.name), el('span', { class: `status ${b.status}` }, b.status)),
      el('progress', { max: 1000, value: Math.round(b.copyProgress * 1000), 'aria-label': `copy progress of ${b.name}` }),
      el(
        'dl',
        {},
        el('dt', {}, 'Copied'),
        el(
          'dd',
          { class: 'copied' },
          el('strong', { class: 'copy-pct' }, pct(b.copyProgress)),
          ` — ${num(b.copiedMessages)} of ${num(b.messages)} messages, ${mb(b.copiedBytes)} of ${mb(b.bytes)}`,
        ),
        el('dt', {}, 'Pipeline'),
        el('dd', { class: 'pipeline-pct' }, `${pct(b.pipelineProgress)} of ${b.mailboxes} mailboxes`),
        el('dt', {}, 'Rate'),
        el('dd', {}, `${b.eta.messagesPerSecond} msg/s, ${mb(b.eta.bytesPerSecond)}/s`),
        el('dt', {}, 'ETA'),
        el('dd', { class: 'eta' }, etaText, fits ? ' — ' : '', fits),
        el('dt', {}, 'Window'),
        el(
          'dd',
          {},
          b.window.start || b.window.stop ? `${time(b.window.start)} → ${time(b.window.stop)} (${b.window.state})` : 'none (any time)',
        ),
        el('dt', {}, 'Route'),
        el(
          'dd',
          {},
          `${b.sourceOrg} → ${b.targetOrg} (${b.targetStore}), cutover ${b.cutover}${b.workgroup ? `, workgroup ${b.workgroup}` : ''}`,
        ),
        el('dt', {}, 'Errors'),
        el('dd', { class: b.errors ? 'err' : '' }, String(b.errors)),
      ),
      chips,
    );
    const actions = el('p', {});
    const show = el('button', { type: 'button', class: 'show' }, 'Details');
    show.addEventListener('click', () => openDetail(b.name));
    actions.append(show);
    if (b.reportUrl) actions.append(' ', el('a', { href: b.reportUrl, class: 'report', target: '_blank', rel: 'noopener' }, 'Report'));
    card.append(actions);
    return card;
  }

  function renderBatches(batches) {
    const box = $('#batches');
    box.replaceChildren(
      ...(batches.length ? batches.map(batchCard) : [el('p', { class: 'muted' }, 'No batches yet (crossforest batch create).')]),
    );
  }

  // --- one batch in detail ------------------------------------------------------------
  let chart = null;

  function drawChart(samples) {
    const box = $('#chart');
    if (!samples.length || typeof uPlot === 'undefined') {
      chart?.destroy();
      chart = null;
      box.replaceChildren(el('p', { class: 'muted' }, 'Nothing copied yet.'));
      return;
    }
    // Each sample holds what was copied since the one before (one a second, wider when summed).
    const xs = [];
    const ys = [];
    let prev = null;
    for (const s of samples) {
      const t = Date.parse(s.at) / 1000;
      const width = prev === null ? 1 : Math.max(1, t - prev);
      xs.push(t);
      ys.push(s.messages / Math.min(width, 60));
      prev = t;
    }
    const width = Math.max(280, box.clientWidth - 16);
    if (chart) {
      chart.setData([xs, ys]);
      if (Math.abs(chart.width - width) > 20) chart.setSize({ width, height: 220 });
      return;
    }
    box.replaceChildren();
    chart = new uPlot(
      {
        width,
        height: 220,
        scales: { x: { time: true } },
        series: [{}, { label: 'messages/s', stroke: '#0969da', fill: 'rgba(9,105,218,0.1)', width: 2 }],
        axes: [{}, { label: 'msg/s' }],
      },
      [xs, ys],
      box,
    );
  }

  // A phone turned sideways, a laptop window narrowed: the chart follows its box.
  window.addEventListener('resize', () => {
    if (chart) chart.setSize({ width: Math.max(280, $('#chart').clientWidth - 16), height: 220 });
  });

  function renderDetail(d) {
    $('#detail').hidden = false;
    $('#detail-name').textContent = d.name;
    $('#detail-reports').replaceChildren(
      ...(d.reports.length
        ? d.reports.map((r) => el('a', { href: r.url, target: '_blank', rel: 'noopener', class: 'report-file' }, r.name))
        : [el('span', { class: 'muted' }, 'No report written yet.')]),
    );
    drawChart(d.throughput);
    $('#mailboxes tbody').replaceChildren(
      ...d.mailboxList.map((m) =>
        el(
          'tr',
          { 'data-mailbox': m.source },
          el('td', {}, m.source),
          el('td', {}, m.target),
          el('td', { class: 'state' }, m.resumeState ? `${m.state} (at ${m.resumeState})` : m.state),
          el('td', { class: 'num' }, `${num(m.copied)} / ${num(m.messages)}`),
          el('td', { class: 'num' }, mb(m.bytes)),
          el('td', { class: 'num' }, m.deltas),
          el('td', { class: 'num' }, m.skipped),
          el('td', { class: 'num' }, m.fidelity === null ? '—' : `${(m.fidelity * 100).toFixed(1)}%`),
          el('td', { class: 'err' }, m.error || ''),
        ),
      ),
    );
    $('#errors').replaceChildren(
      ...(d.errorList.length
        ? d.errorList.slice(0, 500).map((e) => el('li', {}, el('span', { class: 'kind' }, e.kind), `${e.mailbox}: ${e.reason}`))
        : [el('li', { class: 'muted' }, 'None.')]),
    );
  }

  async function openDetail(name) {
    openBatch = name;
    try {
      renderDetail(await getJson(`/dashboard/api/batches/${encodeURIComponent(name)}`));
    } catch (err) {
      $('#errors').replaceChildren(el('li', { class: 'error' }, String(err.message)));
    }
  }

  // --- workers (PostgreSQL state: crossforest worker on any host) -----------------------
  function renderWorkers(workers) {
    const body = $('#workers tbody');
    if (!workers.length)
      return body.replaceChildren(
        el('tr', {}, el('td', { colspan: 5, class: 'muted' }, 'No queue workers alive (batch start --detach, then crossforest worker).')),
      );
    body.replaceChildren(
      ...workers.map((w) =>
        el(
          'tr',
          {},
          el('td', {}, w.worker),
          el('td', {}, w.mailboxes.length ? w.mailboxes.join(', ') : '—'),
          el('td', {}, String(w.recentMessages)),
          el('td', {}, String(w.messagesPerSecond)),
          el('td', {}, String(w.megabytesPerSecond)),
        ),
      ),
    );
  }

  // --- GAL sync runs ------------------------------------------------------------------
  function renderRuns(runs) {
    const body = $('#runs tbody');
    if (!runs.length) return body.replaceChildren(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'No sync runs yet.')));
    body.replaceChildren(
      ...runs.map((r) => {
        const counts = Object.entries(r.counts)
          .filter(([, v]) => v)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
        const errs = r.errors.length
          ? el(
              'details',
              {},
              el('summary', {}, `${r.errors.length + r.moreErrors} errors`),
              el(
                'ul',
                {},
                ...r.errors.map((e) => el('li', {}, `${e.code} (${e.agent}) ${e.dn}: ${e.reason}`)),
                r.moreErrors ? el('li', {}, `… ${r.moreErrors} more: crossforest sync errors ${r.id}`) : null,
              ),
            )
          : '0';
        return el(
          'tr',
          { 'data-run': r.id },
          el('td', { class: 'num' }, r.id),
          el('td', {}, r.profile),
          el('td', {}, el('span', { class: `status ${r.status}` }, r.status), r.message ? ` ${r.message}` : ''),
          el('td', {}, time(r.startedAt)),
          el('td', { class: 'num' }, r.seconds === null ? '—' : r.seconds.toFixed(1)),
          el('td', {}, counts || '—'),
          el('td', { class: r.errors.length ? 'err' : '' }, errs),
        );
      }),
    );
  }

  // --- pending-export preview (on demand) ---------------------------------------------
  async function loadPreview(mode) {
    const box = $('#preview');
    box.replaceChildren(el('p', { class: 'muted' }, 'Computing…'));
    try {
      const p = await getJson(`/dashboard/api/sync/preview?mode=${mode}`);
      const rows = p.items.map((i) =>
        el(
          'tr',
          {},
          el('td', {}, i.agent),
          el('td', {}, i.op),
          el('td', {}, i.dn, i.newDn ? ` → ${i.newDn}` : ''),
          el('td', {}, i.changes.map((c) => `${c.attribute}: [${c.old.join(', ')}] → [${c.new.join(', ')}]`).join('; ')),
        ),
      );
      box.replaceChildren(
        el(
          'p',
          {},
          `${p.total} pending (${p.mode}), computed ${time(p.computedAt)}${p.total > p.items.length ? `; first ${p.items.length} shown` : ''}.`,
        ),
        el(
          'div',
          { class: 'scroll' },
          el(
            'table',
            {},
            el('thead', {}, el('tr', {}, el('th', {}, 'Agent'), el('th', {}, 'Op'), el('th', {}, 'DN'), el('th', {}, 'Changes'))),
            el('tbody', {}, ...rows),
          ),
        ),
        ...(p.errors.length
          ? [
              el('h3', {}, 'Errors the synchronization would report'),
              el('ul', { class: 'errors' }, ...p.errors.map((e) => el('li', {}, `${e.code} (${e.agent}) ${e.dn}: ${e.reason}`))),
            ]
          : []),
      );
    } catch (err) {
      box.replaceChildren(el('p', { class: 'error' }, String(err.message)));
    }
  }
  $('#preview-delta').addEventListener('click', () => loadPreview('delta'));
  $('#preview-full').addEventListener('click', () => loadPreview('full'));

  // --- live ---------------------------------------------------------------------------
  function apply(o) {
    renderBatches(o.batches);
    renderRuns(o.syncRuns);
    renderWorkers(o.workers ?? []);
    if (openBatch) void openDetail(openBatch);
  }

  const live = $('#live');
  let pollTimer = null;
  function poll() {
    getJson('/dashboard/api/overview').then(apply, () => {});
  }
  function startPolling() {
    if (pollTimer) return;
    live.textContent = 'polling';
    pollTimer = setInterval(poll, 5000);
  }

  poll();
  if ('EventSource' in window) {
    const es = new EventSource('/dashboard/api/events');
    es.addEventListener('overview', (ev) => {
      live.textContent = 'live';
      live.className = 'live on';
      apply(JSON.parse(ev.data));
    });
    es.addEventListener('logout', () => location.assign('/dashboard/login'));
    es.addEventListener('error', () => {
      live.textContent = 'reconnecting…';
      live.className = 'live off';
    });
  } else {
    startPolling();
  }
})();
