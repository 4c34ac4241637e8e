// A pipeline's page: what each stage holds and its history (builds, validations with their test counts,
// promotions), from GET /api/pipelines and GET /api/pipelines/{name}/history. The package diff between stages
// (issue 15 item 2) needs an API the daemon does not have yet.
import { get } from './api.js';
import { el, replace, shortDigest, when } from './dom.js';

export async function renderPipeline(view, name, signal) {
  replace(view, el('h1', {}, name), el('p', { class: 'muted' }, 'Loading…'));
  const [status, history] = await Promise.all([
    get('/api/pipelines', signal),
    get(`/api/pipelines/${encodeURIComponent(name)}/history?limit=200`, signal),
  ]);
  const pipeline = (status.pipelines || []).find(p => p.pipeline === name);
  const entries = Array.isArray(history) ? history : history.history || [];
  replace(view,
    el('p', {}, el('a', { href: '#/' }, '← Matrix')),
    el('h1', {}, name),
    pipeline ? el('p', { class: 'muted' }, `version ${pipeline.version || '?'} on base ${pipeline.base || '?'}`) : null,
    pipeline && pipeline.stale ? el('p', {}, el('span', { class: 'badge stale' }, 'stale'), ' ', pipeline.staleReason || '') : null,
    el('h2', {}, 'Stages'),
    el('div', { class: 'scroll' }, el('table', { id: 'stages' },
      el('thead', {}, el('tr', {}, ['Stage', 'Digest', 'Tags', 'Validated', 'When', 'By'].map(h => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, (pipeline ? pipeline.stages || [] : []).map(s => el('tr', { data: { stage: s.stage } },
        el('th', { scope: 'row' }, s.stage),
        el('td', {}, s.digest ? el('code', { title: s.digest }, shortDigest(s.digest)) : '—'),
        el('td', {}, (s.tags || []).join(', ')),
        el('td', {}, s.digest ? (s.validated ? `✓ ${when(s.validatedAt)}` : 'no') : ''),
        el('td', {}, when(s.at)),
        el('td', {}, s.by || '')))))),
    el('h2', {}, 'History'),
    entries.length === 0 ? el('p', { class: 'muted' }, 'Nothing built yet.') : el('div', { class: 'scroll' }, el('table', { id: 'history' },
      el('thead', {}, el('tr', {}, ['When', 'What', 'Stage', 'Digest', 'By', 'Summary'].map(h => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, entries.map(e => el('tr', { class: e.passed === false ? 'failed' : '' },
        el('td', {}, when(e.at)),
        el('td', {}, e.kind),
        el('td', {}, e.stage),
        el('td', {}, el('code', { title: e.digest }, shortDigest(e.digest))),
        el('td', {}, e.actor),
        el('td', {}, e.summary)))))));
}
