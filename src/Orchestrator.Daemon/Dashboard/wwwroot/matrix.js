// The matrix: pipelines × stages, from GET /api/pipelines. Each cell: short digest, tags, validated (when, n/n
// tests from the pipeline's history), promoted when and by whom; a cell whose digest differs from the previous stage's
// is marked. From ?registries=true: each cell's size and signature (a cosign sha256-HEX.sig tag), the sizes per stage
// and the base variants' sizes (full vs slim) as bars.
import { get } from './api.js';
import { actionButton } from './actions.js';
import { el, replace, shortDigest, when, bytes } from './dom.js';

export async function renderMatrix(view, signal) {
  replace(view, el('h1', {}, 'Pipelines × stages'), el('p', { class: 'muted' }, 'Loading…'));
  const status = await get('/api/pipelines', signal);
  const pipelines = status.pipelines || [];
  const stages = [];
  for (const pipeline of pipelines) {
    for (const stage of pipeline.stages || []) if (!stages.includes(stage.stage)) stages.push(stage.stage);
  }

  const table = el('table', { class: 'matrix', id: 'matrix' },
    el('caption', {}, 'What each stage holds; a highlighted cell differs from the stage before it.'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Pipeline'), stages.map(s => el('th', { scope: 'col' }, s)))),
    el('tbody', {}, pipelines.map(p => row(p, stages))));
  const sizes = el('section', { class: 'sizes', 'aria-labelledby': 'sizes-title' },
    el('h2', { id: 'sizes-title' }, 'Sizes'), el('p', { class: 'muted' }, 'Asking the registries…'));
  replace(view,
    el('h1', {}, 'Pipelines × stages'),
    pipelines.length === 0 ? el('p', {}, 'No pipelines yet: add one under pipelines/ in the daemon\'s checkout.') : el('div', { class: 'scroll' }, table),
    sizes);

  // Extras after the first paint: the n/n tests of each validation, and the sizes the registries report.
  await Promise.all([
    ...pipelines.map(p => fillTests(view, p, signal)),
    fillSizes(view, sizes, signal),
  ]);
}

function row(pipeline, stages) {
  const byStage = new Map((pipeline.stages || []).map(s => [s.stage, s]));
  const badges = [];
  if (pipeline.stale) badges.push(el('span', { class: 'badge stale', title: pipeline.staleReason || '' }, 'stale'));
  if (pipeline.changed) badges.push(el('span', { class: 'badge changed', title: pipeline.changedReason || '' }, 'changed'));
  const head = el('th', { scope: 'row', class: 'pipeline' },
    el('a', { href: `#/pipelines/${encodeURIComponent(pipeline.pipeline)}` }, pipeline.pipeline),
    el('div', { class: 'muted small' }, `${pipeline.version || ''} on ${pipeline.base || '?'}`),
    badges,
    el('div', { class: 'actions' }, actionButton('Build', { kind: 'build', pipeline: pipeline.pipeline })));
  let previous = null;
  const cells = stages.map((name, index) => {
    const stage = byStage.get(name) || { stage: name };
    const cell = cellFor(pipeline, stage, index, previous);
    previous = stage;
    return cell;
  });
  return el('tr', { data: { pipeline: pipeline.pipeline } }, head, cells);
}

function cellFor(pipeline, stage, index, previous) {
  const differs = index > 0 && stage.digest && previous && previous.digest && stage.digest !== previous.digest;
  const missing = index > 0 && !stage.digest && previous && previous.digest;
  const classes = ['cell'];
  if (differs) classes.push('differs');
  if (!stage.digest) classes.push('empty');
  const actions = [];
  if (index === 0 && stage.digest) {
    actions.push(actionButton('Validate', { kind: 'validate', pipeline: pipeline.pipeline, digest: stage.digest }));
  }
  if (index > 0 && previous && previous.digest && previous.validated && previous.digest !== stage.digest) {
    actions.push(actionButton(`Promote to ${stage.stage}`, { kind: 'promote', pipeline: pipeline.pipeline, digest: previous.digest, stage: stage.stage }));
  }
  return el('td', { class: classes.join(' '), data: { pipeline: pipeline.pipeline, stage: stage.stage, digest: stage.digest || '' } },
    stage.digest
      ? el('code', { class: 'digest', title: stage.digest, data: { digest: stage.digest } }, shortDigest(stage.digest))
      : el('span', { class: 'muted' }, 'nothing here'),
    differs ? el('span', { class: 'badge differs' }, 'differs from ' + previous.stage) : null,
    missing ? el('span', { class: 'badge pending' }, 'not promoted') : null,
    stage.tags && stage.tags.length ? el('div', { class: 'tags' }, stage.tags.map(t => el('span', { class: 'tag' }, t))) : null,
    stage.digest ? el('div', { class: 'validated' },
      stage.validated ? el('span', { class: 'ok' }, '✓ validated') : el('span', { class: 'warn' }, 'not validated'),
      stage.validatedAt ? ` ${when(stage.validatedAt)}` : '',
      el('span', { class: 'tests', data: { digest: stage.digest } })) : null,
    // Signed and size come from the registries (?registries=true), filled in by fillSizes after the first paint.
    stage.digest ? el('div', { class: 'signed small' }) : null,
    stage.at ? el('div', { class: 'small' }, `${index === 0 ? 'built' : 'promoted'} ${when(stage.at)}${stage.by ? ' by ' + stage.by : ''}`) : null,
    stage.digest ? el('div', { class: 'size small' }) : null,
    actions.length ? el('div', { class: 'actions' }, actions) : null);
}

async function fillTests(view, pipeline, signal) {
  let history;
  try {
    history = await get(`/api/pipelines/${encodeURIComponent(pipeline.pipeline)}/history?limit=200`, signal);
  } catch {
    return; // The matrix stands without the counts.
  }
  const entries = Array.isArray(history) ? history : history.history || [];
  for (const cell of view.querySelectorAll('td.cell')) {
    if (cell.dataset.pipeline !== pipeline.pipeline || !cell.dataset.digest) continue;
    const validation = entries.find(e => e.kind === 'validation' && e.digest === cell.dataset.digest);
    const counts = validation && /(\d+\/\d+) test/.exec(validation.summary || '');
    const target = cell.querySelector('.tests');
    if (counts && target) target.textContent = ` · ${counts[1]} tests`;
  }
}

async function fillSizes(view, section, signal) {
  let served;
  try {
    served = await get('/api/pipelines?registries=true', signal);
  } catch (error) {
    replace(section, el('h2', { id: 'sizes-title' }, 'Sizes'), el('p', { class: 'muted' }, `The registries did not answer: ${error.message}`));
    return;
  }
  fillCells(view, served);
  const bars = [];
  for (const base of served.bases || []) {
    const variants = Object.entries(base.variants || {});
    const largest = Math.max(1, ...variants.map(([, size]) => size || 0));
    bars.push(el('h3', {}, `Base ${base.base}`), barList(variants.map(([variant, size]) => [variant, size]), largest));
  }
  const staged = [];
  for (const pipeline of served.pipelines || []) {
    const sized = (pipeline.stages || []).filter(s => s.size !== undefined && s.size !== null);
    if (sized.length) staged.push([pipeline.pipeline, sized.map(s => [s.stage, s.size])]);
  }
  for (const [name, list] of staged) {
    bars.push(el('h3', {}, `${name} per stage`), barList(list, Math.max(1, ...list.map(([, size]) => size))));
  }
  replace(section, el('h2', { id: 'sizes-title' }, 'Sizes'),
    bars.length ? bars : el('p', { class: 'muted' }, 'No sizes reported yet (build a base first).'));
}

// Each cell's size and signature, as its stage's registry reports them for the digest the cell shows.
function fillCells(view, served) {
  for (const pipeline of served.pipelines || []) {
    for (const stage of pipeline.stages || []) {
      const cell = [...view.querySelectorAll('td.cell')].find(c => c.dataset.pipeline === pipeline.pipeline && c.dataset.stage === stage.stage);
      if (!cell || !stage.digest || cell.dataset.digest !== stage.digest) continue;
      const signed = cell.querySelector('.signed');
      if (signed && stage.signed !== undefined && stage.signed !== null) {
        signed.textContent = stage.signed ? '✓ signed' : 'unsigned';
        signed.classList.add(stage.signed ? 'ok' : 'muted');
        signed.dataset.signed = String(stage.signed);
      }
      const size = cell.querySelector('.size');
      if (size && stage.size !== undefined && stage.size !== null) {
        size.textContent = `size ${bytes(stage.size)}`;
        size.dataset.bytes = String(stage.size);
      }
    }
  }
}

function barList(entries, largest) {
  return el('dl', { class: 'bars' }, entries.map(([label, size]) => [
    el('dt', {}, label),
    el('dd', {},
      el('meter', { min: 0, max: largest, value: size || 0, title: bytes(size) }),
      el('span', { class: 'small' }, size === null || size === undefined ? 'not built' : bytes(size))),
  ]));
}
