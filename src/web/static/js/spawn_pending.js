// Spawn-pending page: follow the progress event stream, redirect when ready.
(function () {
  'use strict';
  var root = document.getElementById('spawn-pending');
  if (!root) return;
  var progressUrl = root.dataset.progressUrl;
  var nextUrl = root.dataset.nextUrl;
  var xsrf = root.dataset.xsrf;
  var bar = document.getElementById('progress-bar');
  var msg = document.getElementById('progress-message');
  var logEl = document.getElementById('progress-log');
  var failedEl = document.getElementById('spawn-failed');
  var retryEl = document.getElementById('spawn-retry');
  var done = false;

  function show(ev) {
    if (typeof ev.progress === 'number') {
      bar.value = ev.progress;
      bar.textContent = ev.progress + '%';
    }
    var text = ev.message || '';
    msg.textContent = text;
    var li = document.createElement('li');
    li.textContent = text;
    logEl.appendChild(li);
  }

  var url = progressUrl + (progressUrl.indexOf('?') < 0 ? '?' : '&') + '_xsrf=' + encodeURIComponent(xsrf);
  var source = new EventSource(url);
  source.onmessage = function (e) {
    var ev;
    try { ev = JSON.parse(e.data); } catch (err) { return; }
    show(ev);
    if (ev.ready) {
      done = true;
      source.close();
      window.location.replace(nextUrl || ev.url);
    } else if (ev.failed) {
      done = true;
      source.close();
      root.classList.add('failed');
      document.querySelector('#spawn-pending h1').textContent = 'Spawn failed';
      failedEl.textContent = ev.message || 'Spawn failed';
      failedEl.hidden = false;
      retryEl.hidden = false;
    }
  };
  source.onerror = function () {
    if (done) return;
    source.close();
    // The stream ended without a final event (e.g. server already stopped): reload the page,
    // which redirects to the server or shows why it is not running.
    setTimeout(function () { window.location.reload(); }, 1000);
  };
})();
