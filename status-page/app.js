// The status page: polls /status.json every second and redraws. Every value from the program is
// put in as text (textContent), never as HTML: key names and problem lines carry clients' bytes.
'use strict';
(function () {
  const POLL_MS = 1000;
  const $ = (id) => document.getElementById(id);
  const fmt = (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en'));
  const keysView = { offset: 0, limit: 50, sort: 'rate', filter: '' };
  let chart;
  let inFlight = false;

  function cell(row, text, numeric, cls) {
    const td = row.insertCell();
    td.textContent = text;
    if (numeric) td.className = 'n';
    if (cls) td.classList.add(cls);
    return td;
  }

  function fill(table, rows, render) {
    const body = table.tBodies[0];
    const fresh = document.createElement('tbody');
    for (const r of rows) render(fresh.insertRow(), r);
    table.replaceChild(fresh, body);
  }

  function duration(seconds) {
    const d = Math.floor(seconds / 86400),
      h = Math.floor((seconds % 86400) / 3600),
      m = Math.floor((seconds % 3600) / 60),
      s = seconds % 60;
    return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + (d || h || m ? m + 'm ' : '') + s + 's';
  }

  function queueName(labels) {
    const parts = Object.entries(labels).map(([k, v]) => k + '=' + v);
    return parts.length ? parts.join(', ') : 'queue';
  }

  function drawRates(history) {
    const data = [history.times, history.pointsIn, history.pointsOut];
    const el = $('rates');
    if (!chart) {
      chart = new uPlot(
        {
          width: Math.max(400, Math.min(1100, el.clientWidth || 900)),
          height: 260,
          series: [{}, { label: 'in', stroke: '#1f77b4', width: 2 }, { label: 'out', stroke: '#2ca02c', width: 2 }],
          axes: [{}, { size: 70, values: (u, ticks) => ticks.map((t) => fmt(t)) }],
          hooks: { draw: [() => (el.dataset.draws = String(Number(el.dataset.draws) + 1))] },
        },
        data,
        el,
      );
    } else {
      chart.setData(data);
    }
  }

  function drawKeys(keys) {
    const section = $('keys-section');
    section.hidden = keys.total === 0;
    if (keys.total === 0) return;
    $('keys-count').textContent = '(' + keys.total.toLocaleString('en') + ')';
    const counters = [...new Set(keys.rows.flatMap((r) => Object.keys(r.counters)))].sort();
    const limits = [...new Set(keys.rows.flatMap((r) => Object.keys(r.limits ?? {})))];
    const head = $('keys').tHead.rows[0];
    head.replaceChildren();
    const th = (text, sort) => {
      const h = document.createElement('th');
      h.textContent = text + (keysView.sort === sort ? ' ▾' : '');
      if (sort) {
        h.className = 'sortable';
        h.addEventListener('click', () => {
          keysView.sort = sort;
          keysView.offset = 0;
          poll();
        });
      }
      head.appendChild(h);
    };
    th('key', 'key');
    th('points/s', 'rate');
    for (const c of counters) th(c.replace(/^polymur_/, '').replace(/_total$/, ''));
    for (const l of limits) th(l);
    fill($('keys'), keys.rows, (row, k) => {
      cell(row, k.key);
      cell(row, fmt(k.pointsPerSecond), true);
      for (const c of counters) cell(row, fmt(k.counters[c] ?? 0), true);
      for (const l of limits) {
        const v = (k.limits ?? {})[l];
        cell(row, v === undefined ? '–' : typeof v === 'number' ? fmt(v) : v, typeof v === 'number');
      }
    });
    const last = Math.min(keys.offset + keys.rows.length, keys.total);
    $('keys-page').textContent = keys.total ? keys.offset + 1 + '–' + last + ' of ' + keys.total.toLocaleString('en') : '';
    $('keys-prev').disabled = keys.offset === 0;
    $('keys-next').disabled = last >= keys.total;
  }

  function draw(s) {
    $('program').textContent = s.program;
    $('version').textContent = s.version;
    $('uptime').textContent = duration(s.uptimeSeconds);
    $('updated').textContent = new Date(s.now).toLocaleTimeString();
    const n = s.history.times.length;
    $('rate-in').textContent = fmt(n ? s.history.pointsIn[n - 1] : null);
    $('rate-out').textContent = fmt(n ? s.history.pointsOut[n - 1] : null);
    $('total-in').textContent = fmt(s.totals.pointsIn);
    $('total-out').textContent = fmt(s.totals.pointsOut);
    drawRates(s.history);
    fill($('queues'), s.queues, (row, q) => {
      cell(row, queueName(q.labels));
      cell(row, fmt(q.points), true);
      cell(row, q.limitPoints === null ? 'none' : fmt(q.limitPoints), true);
      cell(row, fmt(q.bytes), true);
      cell(row, q.limitBytes === null ? 'none' : fmt(q.limitBytes), true);
    });
    $('destinations-section').hidden = s.destinations.length === 0;
    fill($('destinations'), s.destinations, (row, d) => {
      row.dataset.destination = d.destination;
      cell(row, d.destination);
      cell(row, d.state, false, 'state-' + d.state);
      cell(row, fmt(d.queuedPoints), true);
      cell(row, fmt(d.pointsPerSecond), true);
    });
    drawKeys(s.keys);
    fill($('problems'), s.problems, (row, p) => {
      cell(row, new Date(p.lastAt).toLocaleTimeString());
      cell(row, fmt(p.count), true);
      cell(row, p.message);
    });
    document.body.dataset.updatedAt = String(s.now);
  }

  async function poll() {
    if (inFlight) return;
    inFlight = true;
    try {
      const q = new URLSearchParams({ keys_offset: keysView.offset, keys_limit: keysView.limit, keys_sort: keysView.sort, keys_filter: keysView.filter });
      const res = await fetch('/status.json?' + q, { cache: 'no-store', credentials: 'same-origin' });
      if (!res.ok) throw new Error(res.status + ' ' + (await res.text()));
      draw(await res.json());
      $('error').hidden = true;
    } catch (err) {
      $('error').textContent = 'cannot read /status.json: ' + err.message;
      $('error').hidden = false;
    } finally {
      inFlight = false;
    }
  }

  $('keys-prev').addEventListener('click', () => {
    keysView.offset = Math.max(0, keysView.offset - keysView.limit);
    poll();
  });
  $('keys-next').addEventListener('click', () => {
    keysView.offset += keysView.limit;
    poll();
  });
  $('keys-filter').addEventListener('input', (e) => {
    keysView.filter = e.target.value;
    keysView.offset = 0;
    poll();
  });
  poll();
  setInterval(poll, POLL_MS);
})();
