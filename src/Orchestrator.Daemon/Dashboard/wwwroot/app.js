// The dashboard's entry: the token form, and a hash router (#/, #/jobs, #/jobs/ID, #/pipelines/NAME) so the
// daemon serves one page and no route ever carries a secret.
import { getToken, setToken, ApiError } from './api.js';
import { el, replace } from './dom.js';
import { renderMatrix } from './matrix.js';
import { renderJobs, renderJob } from './jobs.js';
import { renderPipeline } from './pipeline.js';
import { clearNotice } from './notice.js';

const view = document.getElementById('view');
let current = null;

function showTokenState() {
  document.getElementById('token-state').textContent = getToken() ? 'token set (this tab only)' : 'no token';
}

document.getElementById('token-form').addEventListener('submit', event => {
  event.preventDefault();
  const input = document.getElementById('token-input');
  setToken(input.value.trim());
  input.value = '';
  showTokenState();
  route();
});

document.getElementById('token-forget').addEventListener('click', () => {
  setToken('');
  showTokenState();
  route();
});

async function route() {
  if (current) current.abort();
  const controller = new AbortController();
  current = controller;
  const hash = location.hash.replace(/^#/, '') || '/';
  const parts = hash.split('/').filter(Boolean).map(decodeURIComponent);
  for (const link of document.querySelectorAll('nav a')) {
    const active = (link.dataset.nav === 'jobs') === (parts[0] === 'jobs');
    if (active) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  try {
    if (parts[0] === 'jobs' && parts[1]) await renderJob(view, Number(parts[1]), controller.signal);
    else if (parts[0] === 'jobs') await renderJobs(view, controller.signal);
    else if (parts[0] === 'pipelines' && parts[1]) await renderPipeline(view, parts[1], controller.signal);
    else await renderMatrix(view, controller.signal);
  } catch (error) {
    if (controller.signal.aborted || error.name === 'AbortError') return;
    const message = error instanceof ApiError ? error.describe() : String(error);
    const hint = error instanceof ApiError && error.status === 401
      ? 'Type a token with the read role (Token, top right), or ask for daemon.dashboard.public-read.'
      : error instanceof ApiError && error.status === 403 ? 'This token lacks the role; use one that has it.' : '';
    replace(view, el('h1', {}, 'Cannot show this page'), el('p', { class: 'error', id: 'page-error' }, message), hint ? el('p', {}, hint) : null);
  }
}

window.addEventListener('hashchange', () => { clearNotice(); route(); });
showTokenState();
route();
