// nbprod browse: live run pages and job pages (the only script the pages need).
//
// Run changes are pushed by the server's event stream (GET /nbprod/api/events, server-sent
// events); a page takes the new content without reloading: the run page's progress at once,
// and the page's own HTML fetched again when the run ends (or, on a job page, its runs
// table when one of its runs changes). Where the stream is refused or breaks, the pages poll
// as before. `data-live` on the live section says which: `connecting` until the stream's
// first `ready` (its baseline taken: every change after it is pushed), then `push`, or
// `poll`. The run page also polls its status slowly while pushed: a worker whose catalog
// writes fail still writes its progress to the store.
(function () {
  "use strict";

  var PUSHED_POLL_MS = 5000;
  var POLL_MS = 1500;

  // The stream, open while the page is visible: a browser allows only six connections per
  // server over HTTP/1.1, and a stream holds one; hidden tabs give theirs back. `ready`
  // comes on every (re)connection, so the page catches up with what it missed.
  function stream(url, handlers) {
    if (!url || typeof EventSource === "undefined") { handlers.fail(); return null; }
    var source = null;
    var failed = false;
    function close() { if (source) { source.close(); source = null; } }
    function open() {
      source = new EventSource(url, { withCredentials: true });
      source.addEventListener("ready", function () { if (handlers.ready) { handlers.ready(); } });
      source.addEventListener("run", function (e) {
        var change;
        try { change = JSON.parse(e.data); } catch (err) { return; }
        handlers.run(change);
      });
      source.addEventListener("error", function () {
        if (!failed) { failed = true; close(); handlers.fail(); }
      });
    }
    document.addEventListener("visibilitychange", function () {
      if (failed) { return; }
      if (document.hidden) { close(); } else if (!source) { open(); }
    });
    if (!document.hidden) { open(); }
    return { close: function () { failed = true; close(); } };
  }

  // Replace the elements matching `selector` with the same ones of the page fetched again
  // (parsed, never executed: its scripts do not run, the notebook frame stays sandboxed).
  function swap(selector, done) {
    return fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var next = fresh.querySelector(selector);
        var now = document.querySelector(selector);
        if (next && now) { now.replaceWith(document.importNode(next, true)); }
        if (done) { done(); }
      });
  }

  function runPage(section) {
    var runId = section.getAttribute("data-run-id");
    var statusUrl = section.getAttribute("data-status-url");
    var bar = document.getElementById("live-progress");
    var text = document.getElementById("live-text");
    var source = null;
    var finished = false;
    var period = POLL_MS;
    var timer = 0;

    function show(s) {
      if (finished) { return; }
      bar.max = s.cells_total || 1;
      bar.value = s.cells_done;
      text.textContent = s.cells_done + "/" + s.cells_total + " cells";
      if (s.terminal) {
        finished = true;
        text.textContent += " · " + s.status.replace("_", " ");
        if (source) { source.close(); }
        window.clearTimeout(timer);
        var retry = function () { swap("main").catch(function () { window.setTimeout(retry, 2000); }); };
        retry();
      }
    }
    function tick() {
      fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (s) { show(s); if (!finished) { timer = window.setTimeout(tick, period); } })
        .catch(function () { if (!finished) { timer = window.setTimeout(tick, 5000); } });
    }
    source = stream(section.getAttribute("data-events-url"), {
      ready: function () {
        section.setAttribute("data-live", "push");
        if (!finished) { window.clearTimeout(timer); tick(); }
      },
      run: function (change) {
        if (change.run_id !== runId) { return; }
        change.terminal = ["queued", "starting", "running"].indexOf(change.status) < 0;
        show(change);
      },
      fail: function () {
        period = POLL_MS;
        section.setAttribute("data-live", "poll");
        if (!finished) { window.clearTimeout(timer); timer = window.setTimeout(tick, period); }
      }
    });
    if (source) {
      period = PUSHED_POLL_MS;
      section.setAttribute("data-live", "connecting");
      timer = window.setTimeout(tick, period);
    }
  }

  function jobPage(section) {
    var job = section.getAttribute("data-job");
    var busy = false;
    var again = false;
    function refresh() {
      if (busy) { again = true; return; }
      busy = true;
      swap("#live-runs table.runs").catch(function () { return null; }).then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
    }
    // Every `ready` (the first one too) refreshes: a run that changed between this page's
    // render and the stream's first look at the catalog is in no event.
    var source = stream(section.getAttribute("data-events-url"), {
      ready: function () { section.setAttribute("data-live", "push"); refresh(); },
      run: function (change) { if (change.job === job) { refresh(); } },
      fail: function () {
        section.setAttribute("data-live", "poll");
        (function poll() { refresh(); window.setTimeout(poll, 5000); })();
      }
    });
    if (source) { section.setAttribute("data-live", "connecting"); }
  }

  // "Debug in JupyterLab" (a run page served inside JupyterLab): the REST API writes the
  // debug notebook under the Jupyter root, then JupyterLab opens it, which selects the
  // failing cell. Delegated: the run page's HTML may be swapped after the listener is set.
  function xsrf() {
    var match = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("#debug-in-lab");
    if (!button) { return; }
    event.preventDefault();
    var note = document.getElementById("debug-note");
    button.disabled = true;
    fetch(button.getAttribute("data-api"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-XSRFToken": xsrf() },
      body: "{}"
    })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, d: d }; }); })
      .then(function (a) {
        if (!a.ok) { throw new Error(a.d.message || "failed"); }
        var path = a.d.path.split("/").map(encodeURIComponent).join("/");
        window.location.href = button.getAttribute("data-lab") + "/tree/" + path;
      })
      .catch(function (e) {
        button.disabled = false;
        if (note) { note.textContent = "Debug failed: " + e.message; }
      });
  });

  // Rendered notebooks (`iframe[data-fit]`) take their content's height, posted by a tiny
  // script inside the frame (nbprod/server/render.py): the frame is sandboxed without
  // allow-same-origin, so this page cannot measure it itself. Only a number is taken, only
  // from one of this page's own frames, and clamped: at most the window's height, so a long
  // notebook scrolls inside its frame (a failed run opens there at its failing cell; a
  // frame of another origin cannot scroll this page to it).
  var MIN_FRAME = 120;
  function fit(frame) {
    var wanted = Number(frame.getAttribute("data-content-height"));
    if (!wanted) { return; }
    var most = Math.max(MIN_FRAME * 2, Math.round(window.innerHeight * 0.9));
    frame.style.height = Math.max(MIN_FRAME, Math.min(wanted + 2, most)) + "px";
    frame.setAttribute("data-fitted", wanted + 2 <= most ? "content" : "window");
  }
  window.addEventListener("message", function (e) {
    var height = e.data && e.data.nbprodFrameHeight;
    if (typeof height !== "number" || !isFinite(height) || height <= 0) { return; }
    var frames = document.querySelectorAll("iframe[data-fit]");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === e.source) {
        frames[i].setAttribute("data-content-height", String(Math.min(height, 1e6)));
        fit(frames[i]);
      }
    }
  });
  window.addEventListener("resize", function () {
    var frames = document.querySelectorAll("iframe[data-fit]");
    for (var i = 0; i < frames.length; i++) { fit(frames[i]); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var live = document.getElementById("live");
    if (live) { runPage(live); }
    var runs = document.getElementById("live-runs");
    if (runs) { jobPage(runs); }
  });
})();
