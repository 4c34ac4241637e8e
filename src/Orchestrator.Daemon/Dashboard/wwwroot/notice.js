// The one line at the top of the page that says what just happened (a refusal, a queued job).
export function notify(level, message) {
  const notice = document.getElementById('notice');
  notice.textContent = message;
  notice.dataset.level = level;
  notice.hidden = !message;
}

export function clearNotice() {
  notify('info', '');
}
