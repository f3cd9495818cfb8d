// "Not running" page: optionally click the start button after implicit_spawn_seconds.
(function () {
  'use strict';
  var root = document.getElementById('not-running');
  if (!root) return;
  var seconds = parseFloat(root.dataset.implicitSpawnSeconds || '0');
  var start = document.getElementById('start');
  if (seconds > 0 && start) setTimeout(function () { window.location.href = start.href; }, seconds * 1000);
})();
