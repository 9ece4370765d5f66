// Loaded first so it counts every Content-Security-Policy violation on the
// page; the end-to-end test reads the counter.
(function () {
  'use strict';
  window.cspViolations = [];
  document.addEventListener('securitypolicyviolation', function (e) {
    window.cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
    var el = document.getElementById('csp-violations');
    if (el) el.textContent = String(window.cspViolations.length);
  });
})();
