// The daemon's JSON API, called with the token the user typed in. The token lives ONLY in this tab's
// sessionStorage: never a cookie, never a URL (a URL ends up in history, logs and Referer headers).

const TOKEN_KEY = 'orchestrator.token';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(secret) {
  if (secret) sessionStorage.setItem(TOKEN_KEY, secret);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An API answer that was not 2xx: status (401, 403, 404, …) and the daemon's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }

  /** How the page says it: 401 and 403 named as such, so a user knows whether to fix the token or its roles. */
  describe() {
    if (this.status === 401) return `401 Unauthorized: ${this.message}`;
    if (this.status === 403) return `403 Forbidden: ${this.message}`;
    if (this.status === 0) return this.message;
    return `${this.status}: ${this.message}`;
  }
}

function headers(extra) {
  const result = { Accept: 'application/json', ...extra };
  const token = getToken();
  if (token) result.Authorization = `Bearer ${token}`;
  return result;
}

async function failure(response) {
  let message = response.statusText || 'request failed';
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) message = body.error.message;
  } catch {
    // Not JSON: keep the status text.
  }
  return new ApiError(response.status, message);
}

/** GET path → parsed JSON, or throws ApiError. */
export async function get(path, signal) {
  let response;
  try {
    response = await fetch(path, { headers: headers(), signal, cache: 'no-store' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, `the daemon did not answer: ${error.message}`);
  }
  if (!response.ok) throw await failure(response);
  return response.json();
}

/** POST path with a JSON body → parsed JSON, or throws ApiError. */
export async function post(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify(body),
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, `the daemon did not answer: ${error.message}`);
  }
  if (!response.ok) throw await failure(response);
  return response.json();
}

/**
 * Follows a text/event-stream with fetch() (EventSource cannot send the Authorization header, and the token must
 * never go in the URL). Calls onEvent(name, data) for each event; resolves when the server ends the stream.
 */
export async function stream(path, onEvent, signal) {
  const response = await fetch(path, { headers: headers({ Accept: 'text/event-stream' }), signal, cache: 'no-store' });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') name = text;
        else if (field === 'data') data.push(text);
      }
      if (data.length > 0) onEvent(name, JSON.parse(data.join('\n')));
    }
  }
}
