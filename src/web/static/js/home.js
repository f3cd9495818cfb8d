// Home page: start/stop/delete servers through the REST API (cookie + X-XSRFToken).
(function () {
  'use strict';
  var root = document.getElementById('home');
  if (!root) return;
  var apiUserUrl = root.dataset.apiUserUrl;
  var hubPrefix = root.dataset.hubPrefix;
  var xsrf = root.dataset.xsrf;
  var status = document.getElementById('home-status');

  function api(method, path, body) {
    var opts = { method: method, credentials: 'same-origin', headers: { 'X-XSRFToken': xsrf, 'Content-Type': 'application/json' } };
    if (body !== undefined) opts.body = JSON.stringify(body);
    return fetch(apiUserUrl + path, opts).then(function (r) {
      if (!r.ok) return r.json().catch(function () { return {}; }).then(function (j) { throw new Error(j.message || r.statusText); });
      return r;
    });
  }
  function serverPath(name) { return name ? '/servers/' + encodeURIComponent(name) : '/server'; }
  function report(e) { status.textContent = 'Error: ' + e.message; }

  var stop = document.getElementById('stop');
  if (stop) stop.addEventListener('click', function (ev) {
    ev.preventDefault();
    stop.textContent = 'Stopping...';
    api('DELETE', '/server').then(function () { window.location.reload(); }, report);
  });
  Array.prototype.forEach.call(document.querySelectorAll('.stop-server'), function (b) {
    b.addEventListener('click', function () {
      b.textContent = 'stopping...';
      api('DELETE', serverPath(b.dataset.server)).then(function () { window.location.reload(); }, report);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('.delete-server'), function (b) {
    b.addEventListener('click', function () {
      api('DELETE', serverPath(b.dataset.server), { remove: true }).then(function () { window.location.reload(); }, report);
    });
  });
  var add = document.getElementById('new-server-btn');
  if (add) add.addEventListener('click', function () {
    var name = document.getElementById('new-server-name').value.trim();
    if (!name) { status.textContent = 'Give the server a name'; return; }
    var userName = decodeURIComponent(apiUserUrl.split('/').pop());
    window.location.href = hubPrefix + 'spawn/' + encodeURIComponent(userName) + '/' + encodeURIComponent(name);
  });
})();
