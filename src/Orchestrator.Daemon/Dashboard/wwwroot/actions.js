// Build, validate and promote: POST /api/jobs with the tab's token. A refusal is shown as what it is (401: no or
// unknown token; 403: the token lacks the role); a queued job opens its live page.
import { post, getToken, ApiError } from './api.js';
import { el } from './dom.js';
import { notify } from './notice.js';

/** A button that submits {kind, pipeline, digest?, stage?} as a job. */
export function actionButton(label, job) {
  const button = el('button', { type: 'button', class: 'action', data: { kind: job.kind, stage: job.stage || '' } }, label);
  button.addEventListener('click', async () => {
    if (!getToken()) {
      notify('error', `Type a token with the role to ${job.kind} first (Token, top right).`);
      return;
    }
    button.disabled = true;
    try {
      const queued = await post('/api/jobs', job);
      notify('info', `Job ${queued.id} queued: ${job.kind} ${job.pipeline}${job.stage ? ' to ' + job.stage : ''}.`);
      location.hash = `#/jobs/${queued.id}`;
    } catch (error) {
      notify('error', error instanceof ApiError ? error.describe() : String(error));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
