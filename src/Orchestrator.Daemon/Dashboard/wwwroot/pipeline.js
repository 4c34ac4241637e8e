// A pipeline's page (#/pipelines/NAME): what each stage holds (size and signature from its registry), what a promotion
// would change between each pair of adjacent stages whose digests differ (GET /api/pipelines/NAME/diff: apt and
// Python packages added, removed, upgraded, from the SBOMs attached to both digests; size; base), the lock, and the
// history (builds, validations with each test's output, promotions). Every value goes in as text (dom.js).
import { get } from './api.js';
import { el, replace, shortDigest, when, bytes } from './dom.js';

export async function renderPipeline(view, name, signal) {
  replace(view, el('h1', {}, name), el('p', { class: 'muted' }, 'Loading…'));
  const path = encodeURIComponent(name);
  const [status, history, lock] = await Promise.all([
    get('/api/pipelines?registries=true', signal),
    get(`/api/pipelines/${path}/history?limit=200`, signal),
    get(`/api/pipelines/${path}/lock`, signal).catch(error => ({ error })),
  ]);
  const pipeline = (status.pipelines || []).find(p => p.pipeline === name);
  const stages = pipeline ? pipeline.stages || [] : [];
  const entries = Array.isArray(history) ? history : history.history || [];
  const changes = el('section', { id: 'changes', 'aria-labelledby': 'changes-title' },
    el('h2', { id: 'changes-title' }, 'What a promotion would change'));
  replace(view,
    el('p', {}, el('a', { href: '#/' }, '← Matrix')),
    el('h1', {}, name),
    pipeline ? el('p', { class: 'muted' }, `version ${pipeline.version || '?'} on base ${pipeline.base || '?'}`) : null,
    pipeline && pipeline.stale ? el('p', {}, el('span', { class: 'badge stale' }, 'stale'), ' ', pipeline.staleReason || '') : null,
    el('h2', {}, 'Stages'),
    stagesTable(stages),
    changes,
    lockSection(lock),
    el('h2', {}, 'History'),
    historyTable(entries));

  // One diff per adjacent pair whose digests differ: what promoting the earlier stage's digest would do to the later.
  const pairs = [];
  for (let i = 0; i + 1 < stages.length; i++) {
    const [from, to] = [stages[i], stages[i + 1]];
    if (from.digest && from.digest !== to.digest) pairs.push([from.stage, to.stage]);
  }
  if (pairs.length === 0) {
    changes.appendChild(el('p', { class: 'muted', id: 'no-changes' },
      stages.some(s => s.digest) ? 'Every stage holds the same digest as the one before it: a promotion would change nothing.' : 'Nothing built yet.'));
    return;
  }
  for (const [from, to] of pairs) {
    const section = el('section', { class: 'diff', data: { from, to }, 'aria-label': `${from} to ${to}` },
      el('h3', {}, `${from} → ${to}`), el('p', { class: 'muted' }, 'Reading both SBOMs…'));
    changes.appendChild(section);
    try {
      const diff = await get(`/api/pipelines/${path}/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, signal);
      renderDiff(section, diff);
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      replace(section, el('h3', {}, `${from} → ${to}`), el('p', { class: 'error' }, error.describe ? error.describe() : String(error)));
    }
  }
}

function stagesTable(stages) {
  return el('div', { class: 'scroll' }, el('table', { id: 'stages' },
    el('thead', {}, el('tr', {}, ['Stage', 'Digest', 'Tags', 'Validated', 'Signed', 'Size', 'When', 'By'].map(h => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, stages.map(s => el('tr', { data: { stage: s.stage, digest: s.digest || '' } },
      el('th', { scope: 'row' }, s.stage),
      el('td', {}, s.digest ? el('code', { class: 'digest', title: s.digest }, shortDigest(s.digest)) : '—'),
      el('td', {}, (s.tags || []).join(', ')),
      el('td', {}, s.digest ? (s.validated ? `✓ ${when(s.validatedAt)}` : 'no') : ''),
      el('td', { class: 'signed' }, s.digest && s.signed !== undefined && s.signed !== null ? (s.signed ? '✓ signed' : 'unsigned') : ''),
      el('td', { class: 'size', data: { bytes: s.size ?? '' } }, s.digest ? bytes(s.size) : ''),
      el('td', {}, when(s.at)),
      el('td', {}, s.by || ''))))));
}

function renderDiff(section, diff) {
  const [from, to] = [diff.fromImage, diff.toImage];
  const title = el('h3', {}, `${diff.from} → ${diff.to}`);
  const digests = el('p', { class: 'digests' },
    `${diff.to} holds `, to ? el('code', { title: to.digest }, shortDigest(to.digest)) : 'nothing',
    `; promoting ${diff.from}'s `, from ? el('code', { title: from.digest }, shortDigest(from.digest)) : 'nothing',
    ' would change:');
  if (!from) {
    replace(section, title, el('p', { class: 'muted' }, `${diff.from} holds nothing to promote.`));
    return;
  }
  const facts = el('dl', { class: 'details' },
    el('dt', {}, 'Size'),
    el('dd', { class: 'size-change', data: { bytes: diff.sizeChangeBytes ?? '' } }, sizeChange(diff)),
    el('dt', {}, 'Base'),
    el('dd', { class: 'base-change', data: { changed: String(diff.baseChanged) } }, baseChange(diff)),
    el('dt', {}, 'Signed'),
    el('dd', {}, `${diff.from}: ${from.signed ? 'yes' : 'no'}${to ? `; ${diff.to}: ${to.signed ? 'yes' : 'no'}` : ''}`));
  const problems = [from, to].filter(i => i && i.sbomProblem).map(i => el('p', { class: 'warn sbom-problem' }, i.sbomProblem));
  replace(section, title, digests, facts,
    packageTable('Debian packages', 'apt', diff, diff.apt),
    packageTable('Python packages', 'python', diff, diff.python),
    problems);
}

function sizeChange(diff) {
  const [from, to] = [diff.fromImage, diff.toImage];
  if (diff.sizeChangeBytes === null || diff.sizeChangeBytes === undefined) return 'unknown';
  const sign = diff.sizeChangeBytes > 0 ? '+' : diff.sizeChangeBytes < 0 ? '−' : '±';
  const percent = diff.sizeChangePercent === null || diff.sizeChangePercent === undefined ? '' : `, ${sign}${Math.abs(diff.sizeChangePercent).toFixed(1)}%`;
  return `${to ? bytes(to.size) : 'nothing'} → ${bytes(from.size)} (${sign}${bytes(Math.abs(diff.sizeChangeBytes))}${percent})`;
}

function baseChange(diff) {
  const [from, to] = [diff.fromImage, diff.toImage];
  const describe = image => `${image.baseName || '?'}${image.baseDigest ? ' @ ' + shortDigest(image.baseDigest) : ''}`;
  if (!to) return describe(from);
  if (!diff.baseChanged) return `unchanged: ${describe(to)}`;
  return `changes: ${describe(to)} → ${describe(from)}`;
}

const KINDS = [['added', 'added'], ['removed', 'removed'], ['upgraded', 'upgraded'], ['downgraded', 'downgraded']];

function packageTable(label, id, diff, changes) {
  if (!changes) return el('p', { class: 'muted', id: `${id}-diff-${diff.from}-${diff.to}` }, `${label}: cannot tell (an SBOM is missing).`);
  const rows = [];
  for (const [key, word] of KINDS) {
    for (const change of changes[key] || []) {
      rows.push(el('tr', { class: `change ${key}`, data: { change: key, package: change.name } },
        el('td', {}, el('span', { class: `badge ${key}` }, word)),
        el('th', { scope: 'row' }, change.name, change.architecture && change.architecture !== 'all' ? el('span', { class: 'muted' }, `:${change.architecture}`) : null),
        el('td', { class: 'old' }, change.fromVersion ?? '—'),
        el('td', { class: 'new' }, change.toVersion ?? '—')));
    }
  }
  const counts = KINDS.map(([key]) => `${(changes[key] || []).length} ${key}`).join(', ');
  if (rows.length === 0) return el('p', { class: 'muted', id: `${id}-diff-${diff.from}-${diff.to}` }, `${label}: no change.`);
  return el('div', { class: 'scroll' }, el('table', { class: 'packages', id: `${id}-diff-${diff.from}-${diff.to}`, data: { kind: id } },
    el('caption', {}, `${label}: ${counts}`),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Change'), el('th', { scope: 'col' }, 'Package'),
      el('th', { scope: 'col' }, `In ${diff.to}`), el('th', { scope: 'col' }, `From ${diff.from}`))),
    el('tbody', {}, rows)));
}

function lockSection(lock) {
  const title = el('h2', { id: 'lock-title' }, 'Lock');
  if (!lock || lock.error) {
    return el('section', { id: 'lock', 'aria-labelledby': 'lock-title' }, title,
      el('p', { class: 'muted' }, `The lock could not be read: ${lock && lock.error && lock.error.describe ? lock.error.describe() : 'no answer'}`));
  }
  if (!lock.locked) {
    return el('section', { id: 'lock', 'aria-labelledby': 'lock-title' }, title,
      el('p', {}, 'Not locked yet: run ', el('code', {}, `orchestrator lock ${lock.pipeline}`), '.'));
  }
  const packages = lock.packages || [];
  const python = lock.pythonPackages || [];
  return el('section', { id: 'lock', 'aria-labelledby': 'lock-title' }, title,
    lock.stale ? el('p', {}, el('span', { class: 'badge stale' }, 'stale'), ' ', lock.stale) : null,
    el('p', {}, `Resolved on ${lock.baseName || '?'} `, lock.baseDigest ? el('code', { title: lock.baseDigest }, shortDigest(lock.baseDigest)) : null,
      `: ${packages.length} apt package(s), ${packages.filter(p => p.direct).length} named by the pipeline.`),
    el('details', {},
      el('summary', {}, `Apt packages (${packages.length})`),
      el('div', { class: 'scroll' }, el('table', { id: 'lock-packages' },
        el('thead', {}, el('tr', {}, ['Package', 'Version', 'Architecture', ''].map(h => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, packages.map(p => el('tr', { data: { package: p.name } },
          el('th', { scope: 'row' }, p.name), el('td', {}, p.version), el('td', {}, p.architecture), el('td', {}, p.direct ? 'named' : 'dependency'))))))),
    python.length || (lock.requirements || []).length ? el('details', {},
      el('summary', {}, `Python (${python.length} resolved, ${(lock.requirements || []).length} required)`),
      el('ul', { id: 'lock-python' }, python.map(p => el('li', {}, el('code', {}, `${p.name}==${p.version}`)))),
      (lock.requirements || []).length ? el('p', {}, 'Requirements: ', lock.requirements.map(r => el('code', { class: 'tag' }, r))) : null) : null);
}

function historyTable(entries) {
  if (entries.length === 0) return el('p', { class: 'muted' }, 'Nothing built yet.');
  return el('div', { class: 'scroll' }, el('table', { id: 'history' },
    el('thead', {}, el('tr', {}, ['When', 'What', 'Stage', 'Digest', 'By', 'Summary'].map(h => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, entries.map(e => el('tr', { class: e.passed === false ? 'failed' : '', data: { kind: e.kind } },
      el('td', {}, when(e.at)),
      el('td', {}, e.kind),
      el('td', {}, e.stage),
      el('td', {}, el('code', { title: e.digest }, shortDigest(e.digest))),
      el('td', {}, e.actor),
      el('td', {}, e.tests && e.tests.length ? testDetails(e) : e.summary))))));
}

// Each test of a validation with what it saw, folded under the summary (a details element: Enter or Space opens it).
function testDetails(entry) {
  return el('details', { class: 'tests' },
    el('summary', {}, entry.summary),
    el('ul', { class: 'test-list' }, entry.tests.map(t => el('li', { class: t.passed ? 'passed' : 'failed', data: { test: t.name } },
      el('span', { class: t.passed ? 'ok' : 'error' }, t.passed ? '✓ ' : '✗ '),
      el('strong', {}, t.name), el('span', { class: 'muted' }, ` ${t.kind}, ${t.durationMs} ms`),
      t.detail ? el('pre', { class: 'output' }, t.detail) : null))));
}
