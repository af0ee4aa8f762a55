// hookrelay dashboard: the little JavaScript the pages use (the page works without it).
// Loaded as a file under a CSP without inline script; it never builds HTML from strings: every value
// from the server goes into the page through textContent or setAttribute.
// @ts-nocheck -- browser code, not part of the TypeScript build.
(() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

  // htmx requests carry the session's CSRF token in a header (forms also carry it as a field).
  document.addEventListener('htmx:configRequest', (event) => {
    event.detail.headers['x-csrf-token'] = csrf();
  });

  // Relative times, kept fresh; the exact time is the element's title.
  const relative = (at, now) => {
    const delta = now - at;
    const abs = Math.abs(delta);
    if (abs < 45000) return 'just now';
    let text;
    if (abs < 3600000) text = `${Math.round(abs / 60000)} min`;
    else if (abs < 86400000) text = `${Math.round(abs / 3600000)} h`;
    else text = `${Math.round(abs / 86400000)} d`;
    return delta >= 0 ? `${text} ago` : `in ${text}`;
  };
  const exact = (at) =>
    `${new Date(at)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d{3}Z$/, '')} UTC`;
  const timeElement = (at) => {
    const el = document.createElement('time');
    el.dateTime = new Date(at).toISOString();
    el.title = exact(at);
    el.dataset.at = String(at);
    el.textContent = relative(at, Date.now());
    return el;
  };
  setInterval(() => {
    const now = Date.now();
    for (const el of document.querySelectorAll('time[data-at]'))
      el.textContent = relative(Number(el.dataset.at), now);
  }, 30000);

  // The overview follows /api/v1/stream (Server-Sent Events).
  const live = document.querySelector('[data-live]');
  if (!live || typeof EventSource === 'undefined') return;
  const state = document.querySelector('[data-live-state]');
  const setState = (text, on) => {
    if (!state) return;
    state.textContent = text;
    state.classList.toggle('on', on);
  };
  const cell = (text, href) => {
    const td = document.createElement('td');
    if (href) {
      const a = document.createElement('a');
      a.href = href;
      a.textContent = text;
      td.append(a);
    } else td.textContent = text;
    return td;
  };
  const chip = (status) => {
    const span = document.createElement('span');
    span.className = `chip chip-${String(status).replace(/[^a-z-]/g, '')}`;
    span.textContent = status;
    return span;
  };
  const prepend = (tbody, row) => {
    tbody.querySelector('tr.placeholder')?.remove();
    row.classList.add('fresh');
    tbody.prepend(row);
    while (tbody.rows.length > 10) tbody.deleteRow(tbody.rows.length - 1);
  };
  const setStat = (name, value) => {
    for (const el of document.querySelectorAll(`[data-stat="${name}"]`)) el.textContent = String(value);
  };
  const drawSpark = (svg, perMinute, max) => {
    const ns = 'http://www.w3.org/2000/svg';
    while (svg.firstChild) svg.firstChild.remove();
    perMinute.forEach((n, i) => {
      const h = n === 0 ? 1 : Math.max(2, Math.round((n / max) * 26));
      const rect = document.createElementNS(ns, 'rect');
      rect.setAttribute('x', String(i * 10));
      rect.setAttribute('y', String(28 - h));
      rect.setAttribute('width', '8');
      rect.setAttribute('height', String(h));
      const title = document.createElementNS(ns, 'title');
      title.textContent = String(n);
      rect.append(title);
      svg.append(rect);
    });
  };
  const updateRows = (kind, rows) => {
    const max = Math.max(1, ...rows.flatMap((row) => row.perMinute));
    for (const row of rows) {
      const tr = document.querySelector(`tr[data-row="${CSS.escape(`${kind}:${row.name}`)}"]`);
      if (!tr) continue;
      const last = tr.querySelector('[data-cell="lastMinute"]');
      const total = tr.querySelector('[data-cell="total"]');
      if (last) last.textContent = String(row.lastMinute);
      if (total) total.textContent = String(row.total);
      const svg = tr.querySelector('svg.spark');
      if (svg) drawSpark(svg, row.perMinute, max);
    }
  };

  const source = new EventSource('/api/v1/stream');
  source.addEventListener('open', () => setState('Live: updates as events and alerts arrive.', true));
  source.addEventListener('error', () => setState('Live updates paused; reconnecting…', false));
  source.addEventListener('stats', (message) => {
    const stats = JSON.parse(message.data);
    setStat('deadLetters', stats.deadLetters);
    setStat(
      'pending',
      stats.destinations.reduce((sum, d) => sum + d.pending, 0),
    );
    setStat('paused', stats.destinations.filter((d) => d.paused).length);
    setStat('lagItems', stats.evaluator.lagItems);
    setStat('lagSeconds', stats.evaluator.lagSeconds.toFixed(1));
    updateRows('source', stats.sources);
    updateRows('rule', stats.rules);
    for (const d of stats.destinations) {
      const tr = document.querySelector(`tr[data-destination="${CSS.escape(d.name)}"]`);
      if (!tr) continue;
      const pending = tr.querySelector('[data-cell="pending"]');
      if (pending) pending.textContent = String(d.pending);
      const dead = tr.querySelector('[data-cell="dead"]');
      if (dead) dead.textContent = String(d.dead);
      const stateCell = tr.querySelector('[data-cell="state"]');
      if (stateCell) stateCell.replaceChildren(d.paused ? chip('paused') : chip('ok'));
      const oldest = tr.querySelector('[data-cell="oldest"]');
      if (oldest) oldest.replaceChildren(d.oldestPendingAt ? timeElement(d.oldestPendingAt) : '—');
    }
  });
  const events = document.getElementById('recent-events');
  source.addEventListener('event', (message) => {
    const e = JSON.parse(message.data);
    if (!events) return;
    const tr = document.createElement('tr');
    const when = document.createElement('td');
    when.append(timeElement(e.receivedAt));
    tr.append(
      when,
      cell(e.source),
      cell(e.type, `/events/${encodeURIComponent(e.seq)}`),
      cell(e.person ?? e.user ?? '—'),
    );
    prepend(events, tr);
  });
  const alerts = document.getElementById('recent-alerts');
  source.addEventListener('alert', (message) => {
    const a = JSON.parse(message.data);
    if (!alerts) return;
    const tr = document.createElement('tr');
    const when = document.createElement('td');
    when.append(timeElement(a.createdAt));
    const severity = document.createElement('td');
    severity.append(chip(a.severity));
    tr.append(when, severity, cell(a.rule), cell(a.title, `/alerts/${encodeURIComponent(a.id)}`));
    prepend(alerts, tr);
  });
})();
