// nbprod browse: live status of a running run (the only script the pages need).
(function () {
  "use strict";
  function poll(section) {
    var url = section.getAttribute("data-status-url");
    var bar = document.getElementById("live-progress");
    var text = document.getElementById("live-text");
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (s) {
          bar.max = s.cells_total || 1;
          bar.value = s.cells_done;
          text.textContent = s.cells_done + "/" + s.cells_total + " cells";
          if (s.terminal) {
            text.textContent += " · " + s.status.replace("_", " ");
            window.location.reload();
            return;
          }
          window.setTimeout(tick, 1500);
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    }
    window.setTimeout(tick, 1500);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live) { poll(live); }
  });
})();
