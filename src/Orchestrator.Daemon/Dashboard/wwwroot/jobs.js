// The job list (GET /api/jobs, refreshed while open) and a job page that follows the job live through
// GET /api/jobs/{id}/events (server-sent events read with fetch, so the token travels in the header).
import { get, stream, ApiError } from './api.js';
import { el, replace, shortDigest, when, bytes } from './dom.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

export async function renderJobs(view, signal) {
  const body = el('tbody');
  replace(view, el('h1', {}, 'Jobs'),
    el('div', { class: 'scroll' }, el('table', { class: 'jobs', id: 'jobs' },
      el('thead', {}, el('tr', {}, ['Job', 'Kind', 'Pipeline', 'Stage', 'Digest', 'State', 'By', 'Created', 'Finished'].map(h => el('th', { scope: 'col' }, h)))),
      body)));
  while (!signal.aborted) {
    const list = await get('/api/jobs?limit=100', signal);
    const jobs = Array.isArray(list) ? list : list.jobs || [];
    replace(body, jobs.length === 0 ? el('tr', {}, el('td', { colspan: 9, class: 'muted' }, 'No jobs yet.')) : jobs.map(job =>
      el('tr', { data: { job: job.id } },
        el('td', {}, el('a', { href: `#/jobs/${job.id}` }, `#${job.id}`)),
        el('td', {}, job.kind),
        el('td', {}, job.pipeline),
        el('td', {}, job.stage || ''),
        el('td', {}, el('code', { title: job.digest || '' }, job.digest ? shortDigest(job.digest) : '')),
        el('td', {}, el('span', { class: `state ${job.state}` }, job.state)),
        el('td', {}, job.requestedBy || ''),
        el('td', {}, when(job.createdAt)),
        el('td', {}, job.finishedAt ? when(job.finishedAt) : ''))));
    await sleep(3000, signal);
  }
}

export async function renderJob(view, id, signal) {
  const state = el('span', { id: 'job-state', class: 'state', role: 'status' }, '…');
  const live = el('span', { id: 'job-live', class: 'muted small' }, 'connecting…');
  const details = el('dl', { class: 'details' });
  const progress = el('tbody');
  // Shown once the log carries progress (pushes, layer copies); most jobs have none.
  const progressBox = el('details', { class: 'progress', hidden: true }, el('summary', {}, 'Layer progress'),
    el('table', {}, el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Layer'), el('th', { scope: 'col' }, 'Progress'))), progress));
  const log = el('ol', { id: 'job-log', class: 'log', 'aria-live': 'polite' });
  replace(view,
    el('h1', {}, `Job #${id} `, state, ' ', live),
    details,
    progressBox,
    el('h2', {}, 'Log'), log);

  const job = await get(`/api/jobs/${id}`, signal);
  fillDetails(details, job);
  setState(state, job.state);

  const layers = new Map();
  let after = 0;
  // Reconnects after a dropped connection, resuming after the last line seen, until the job ends.
  for (let attempt = 0; !signal.aborted; attempt++) {
    let ended = false;
    try {
      live.textContent = 'live';
      await stream(`/api/jobs/${id}/events?after=${after}`, (name, data) => {
        if (name === 'log') {
          after = data.sequence;
          // Structured progress (kind 'event', the CLI's live display reads the same): blob bytes also fill the
          // progress table; every line, events included, is shown readable and in sequence.
          const event = data.kind === 'event' ? parseEvent(data.message) : null;
          if (event && event.kind.startsWith('blob-')) {
            progressBox.hidden = false;
            showBlob(progress, layers, event);
          }
          log.appendChild(el('li', { class: `line ${data.kind}`, data: { sequence: data.sequence } },
            el('time', { datetime: data.at }, new Date(data.at).toLocaleTimeString()), ' ', el('span', { class: 'kind' }, event ? event.kind : data.kind), ' ',
            event ? describeEvent(event) : data.message));
          if (data.kind === 'progress') { progressBox.hidden = false; showProgress(progress, layers, data.message); }
        } else if (name === 'state' || name === 'end') {
          setState(state, data.state);
          if (data.error) details.appendChild(el('div', { class: 'error' }, el('dt', {}, 'Error'), el('dd', {}, data.error)));
          if (name === 'end') ended = true;
        }
      }, signal);
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status !== 0) {
        live.textContent = error.describe();
        return;
      }
    }
    if (ended) {
      live.textContent = 'ended';
      const final = await get(`/api/jobs/${id}`, signal).catch(() => null);
      if (final) fillDetails(details, final);
      return;
    }
    live.textContent = 'reconnecting…';
    await sleep(Math.min(5000, 500 * (attempt + 1)), signal);
  }
}

function setState(node, state) {
  node.textContent = state;
  node.className = `state ${state}`;
  node.dataset.state = state;
  node.dataset.final = String(FINAL.has(state));
}

function fillDetails(details, job) {
  const rows = [
    ['Kind', job.kind], ['Pipeline', job.pipeline], ['Stage', job.stage], ['Digest', job.digest],
    ['Requested by', job.requestedBy], ['Created', when(job.createdAt)], ['Started', when(job.startedAt)],
    ['Finished', when(job.finishedAt)], ['Exit code', job.exitCode], ['Error', job.error],
  ].filter(([, value]) => value !== null && value !== undefined && value !== '');
  replace(details, rows.map(([name, value]) => el('div', {}, el('dt', {}, name), el('dd', {}, name === 'Digest' ? el('code', {}, value) : String(value)))));
}

// Engine and copy progress lines read "LAYER: STATUS CURRENT/TOTAL" (bytes when the copier reports them).
function showProgress(body, layers, message) {
  const match = /^([^:\s]+): (.*)$/.exec(message);
  if (!match) return;
  const [, layer, text] = match;
  const numbers = /(\d+)\s*\/\s*(\d+)/.exec(text);
  let row = layers.get(layer);
  if (!row) {
    row = { meter: el('meter', { min: 0, max: 1, value: 0 }), label: el('span', { class: 'small' }) };
    layers.set(layer, row);
    body.appendChild(el('tr', {}, el('td', {}, el('code', {}, layer)), el('td', {}, row.meter, ' ', row.label)));
  }
  if (numbers) {
    row.meter.max = Number(numbers[2]) || 1;
    row.meter.value = Number(numbers[1]);
    row.label.textContent = `${text.replace(numbers[0], '').trim()} ${bytes(numbers[1])} / ${bytes(numbers[2])}`;
  } else {
    row.label.textContent = text;
  }
}

function parseEvent(message) {
  try {
    const event = JSON.parse(message);
    return event && typeof event.kind === 'string' && typeof event.name === 'string' ? event : null;
  } catch {
    return null;
  }
}

function describeEvent(event) {
  const elapsed = typeof event.elapsedSeconds === 'number' ? ` (${event.elapsedSeconds.toFixed(1)} s)` : '';
  const step = event.number ? `step ${event.number}/${event.count} ` : '';
  const detail = event.detail ? `: ${event.detail}` : '';
  return `${step}${event.activity ? event.activity + ' ' : ''}${event.name}${elapsed}${detail}`;
}

function showBlob(body, layers, event) {
  const total = event.bytesTotal || 0;
  showProgress(body, layers, `${event.name}: ${event.activity || 'copy'} ${event.kind === 'blob-failed' ? 'failed ' : ''}${event.bytesDone || 0}/${total}`);
}

function sleep(ms, signal) {
  return new Promise(resolve => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
