// The task page's output (templates/projects/tasks/show.html), configured by the data- attributes
// of [data-task-log]:
// - follows the task over the /api/ws WebSocket: appends the new lines (their HTML is the
//   server's escaped rendering), refreshes the details and buttons when the status changes,
//   reconnects with backoff from the last line received, and closes once the task finished;
// - keeps the view at the end while the reader is there: scrolling up stops that, scrolling
//   back down (or the Follow button) resumes it;
// - ticks the duration while the task runs;
// - keeps the scroll position when "Load earlier lines" inserts a block above;
// - jumps to a search hit's line, loading the earlier blocks up to it if needed.
// Loaded again by each boosted visit of a task page: the first load installs everything.
(function () {
  "use strict";

  if (window.semaphoreTaskLog) {
    window.semaphoreTaskLog.scan(document);
    return;
  }

  var NEAR_END_PX = 40;
  var FIRST_RETRY_MS = 1000;
  var MAX_RETRY_MS = 30000;
  // While following, the pane keeps at most MAX_LINES lines (dropping the oldest down to
  // KEEP_LINES): "Load earlier lines" brings them back.
  var MAX_LINES = 10000;
  var KEEP_LINES = 8000;
  // A search hit above the shown lines is loaded in blocks of up to JUMP_BLOCK lines, at most
  // JUMP_BLOCKS of them.
  var JUMP_BLOCK = 5000;
  var JUMP_BLOCKS = 10;

  var current = null;

  function formatDuration(seconds) {
    seconds = Math.max(Math.floor(seconds), 0);
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var rest = seconds % 60;
    function two(n) { return (n < 10 ? "0" : "") + n; }
    if (hours) { return hours + "h " + two(minutes) + "m"; }
    if (minutes) { return minutes + "m " + two(rest) + "s"; }
    return rest + "s";
  }

  var WAITING_REFRESH_TICKS = 3;  // seconds between looks at a waiting task's reason

  function TaskLog(root) {
    this.root = root;
    this.pane = root.querySelector("[data-log-pane]");
    this.lines = root.querySelector("[data-log-lines]");
    this.followButton = root.querySelector("[data-log-follow]");
    this.last = parseInt(root.getAttribute("data-last-seq"), 10) || 0;
    this.status = root.getAttribute("data-status");
    this.finishedStatuses = root.getAttribute("data-finished-statuses").split(" ");
    // Server time minus browser time, so the running duration does not depend on the clock.
    this.clockOffset = Date.parse(root.getAttribute("data-server-now")) - Date.now() || 0;
    this.following = true;
    this.socket = null;
    this.retryMs = FIRST_RETRY_MS;
    this.retryTimer = null;
    this.stopped = false;
    this.refreshing = false;

    var self = this;
    this.pane.addEventListener("scroll", function () { self.setFollowing(self.nearEnd()); });
    // A wheel turn upwards stops following at once, before lines arriving meanwhile pull
    // the view back down.
    this.pane.addEventListener("wheel", function (event) {
      if (event.deltaY < 0) { self.setFollowing(false); }
    }, { passive: true });
    this.followButton.addEventListener("click", function () {
      self.setFollowing(true);
      self.scrollToEnd();
    });
    this.ticker = setInterval(function () { self.tick(); }, 1000);

    var target = /^#L\d+$/.test(location.hash) && document.getElementById(location.hash.slice(1));
    if (target && this.pane.contains(target)) {
      this.showLine(target);
    } else {
      this.scrollToEnd();
    }
    if (!this.finished()) { this.connect(); }
  }

  TaskLog.prototype.alive = function () {
    return !this.stopped && document.body.contains(this.root);
  };

  TaskLog.prototype.stop = function () {
    this.stopped = true;
    clearInterval(this.ticker);
    clearTimeout(this.retryTimer);
    this.closeSocket();
  };

  TaskLog.prototype.finished = function () {
    return this.finishedStatuses.indexOf(this.status) >= 0;
  };

  TaskLog.prototype.nearEnd = function () {
    var pane = this.pane;
    return pane.scrollHeight - pane.scrollTop - pane.clientHeight < NEAR_END_PX;
  };

  TaskLog.prototype.setFollowing = function (following) {
    this.following = following;
    this.followButton.hidden = following;
  };

  TaskLog.prototype.scrollToEnd = function () {
    this.pane.scrollTop = this.pane.scrollHeight;
  };

  // The socket ---------------------------------------------------------------------------------

  TaskLog.prototype.connect = function () {
    var self = this;
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + location.host + this.root.getAttribute("data-ws-url") +
      "&after=" + this.last;
    var socket = new WebSocket(url);
    this.socket = socket;
    socket.onmessage = function (event) {
      if (!self.alive()) { self.stop(); return; }
      self.retryMs = FIRST_RETRY_MS;
      var message = JSON.parse(event.data);
      if (message.type === "output") {
        self.append(message.lines);
      } else if (message.type === "update") {
        self.update(message);
      }
    };
    socket.onclose = function () {
      if (self.socket !== socket) { return; }
      self.socket = null;
      if (self.alive() && !self.finished()) {
        self.retryTimer = setTimeout(function () { self.connect(); }, self.retryMs);
        self.retryMs = Math.min(self.retryMs * 2, MAX_RETRY_MS);
      }
    };
  };

  TaskLog.prototype.closeSocket = function () {
    var socket = this.socket;
    this.socket = null;
    if (socket) { socket.close(); }
  };

  // New lines ----------------------------------------------------------------------------------

  TaskLog.prototype.lineElement = function (line) {
    var row = document.createElement("div");
    row.className = "log-line";
    row.id = "L" + line.seq;
    row.setAttribute("data-seq", line.seq);
    var number = document.createElement("a");
    number.className = "log-num";
    number.href = "#L" + line.seq;
    number.tabIndex = -1;
    number.textContent = line.seq;
    var time = document.createElement("span");
    time.className = "log-time";
    time.textContent = (line.time || "").slice(11, 19);  // HH:MM:SS of the RFC 3339 time (UTC)
    var text = document.createElement("span");
    text.className = "log-text";
    // The server's rendering: the text escaped, its colours as spans (semaphore/live/ansi.py).
    text.innerHTML = line.html;
    row.appendChild(number);
    row.appendChild(time);
    row.appendChild(text);
    return row;
  };

  TaskLog.prototype.append = function (lines) {
    var batch = document.createDocumentFragment();
    for (var i = 0; i < lines.length; i++) {
      if (lines[i].seq <= this.last) { continue; }
      batch.appendChild(this.lineElement(lines[i]));
      this.last = lines[i].seq;
    }
    if (!batch.childNodes.length) { return; }
    this.lines.appendChild(batch);
    if (this.following) {
      this.trim();
      this.scrollToEnd();
    }
  };

  TaskLog.prototype.trim = function () {
    if (this.lines.childElementCount <= MAX_LINES) { return; }
    var rows = this.lines.querySelectorAll(".log-line");
    var drop = rows.length - KEEP_LINES;
    for (var i = 0; i < drop; i++) { rows[i].remove(); }
    var first = parseInt(rows[drop].getAttribute("data-seq"), 10);
    var control = this.lines.querySelector("[data-log-earlier]");
    if (control) { control.remove(); }
    this.lines.insertBefore(this.earlierControl(first), this.lines.firstChild);
  };

  // As templates/projects/tasks/_log_earlier.html renders it.
  TaskLog.prototype.earlierControl = function (first) {
    var control = document.createElement("div");
    control.className = "log-earlier";
    control.setAttribute("data-log-earlier", "");
    control.setAttribute("data-testid", "log-earlier");
    control.setAttribute("data-before", first);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link";
    button.setAttribute("data-testid", "load-earlier");
    button.setAttribute("hx-get", this.root.getAttribute("data-earlier-url") + "?seq=" + first);
    button.setAttribute("hx-target", "closest .log-earlier");
    button.setAttribute("hx-swap", "outerHTML");
    button.textContent = "Load earlier lines";
    var count = document.createElement("span");
    count.textContent = (first - 1).toLocaleString("en") + " earlier lines";
    control.appendChild(button);
    control.appendChild(count);
    htmx.process(control);
    return control;
  };

  // Status -------------------------------------------------------------------------------------

  TaskLog.prototype.update = function (message) {
    var duration = this.root.ownerDocument.querySelector("[data-task-duration]");
    if (duration) {
      duration.setAttribute("data-start", message.start || "");
      duration.setAttribute("data-end", message.end || "");
    }
    if (message.status !== this.status) {
      this.status = message.status;
      this.root.setAttribute("data-status", message.status);
      this.refreshState();
    }
    if (this.finished()) {
      // Every line comes before the final status: nothing more will.
      this.closeSocket();
    }
    this.tick();
  };

  // Swap in the details and buttons of the current status; one request at a time, again
  // until the page shows the status last heard of.
  TaskLog.prototype.refreshState = function () {
    if (this.refreshing || !this.alive()) { return; }
    this.refreshing = true;
    var self = this;
    function done() {
      self.refreshing = false;
      var badge = document.querySelector("#task-details [data-status]");
      if (badge && badge.getAttribute("data-status") !== self.status) {
        setTimeout(function () { self.refreshState(); }, 500);
      }
    }
    htmx.ajax("GET", this.root.getAttribute("data-state-url"), {
      target: "#task-details", swap: "outerHTML"
    }).then(done, done);
  };

  TaskLog.prototype.tick = function () {
    if (!this.alive()) { this.stop(); return; }
    // Why a waiting task waits changes with other tasks (a limit frees up, a runner comes
    // online), not with its own status: the details are asked for again every few seconds.
    this.ticks = (this.ticks || 0) + 1;
    if (this.status === "waiting" && this.ticks % WAITING_REFRESH_TICKS === 0) {
      this.refreshState();
    }
    var duration = document.querySelector("[data-task-duration]");
    var start = duration && Date.parse(duration.getAttribute("data-start"));
    if (!start || duration.getAttribute("data-end")) { return; }
    duration.textContent = formatDuration((Date.now() + this.clockOffset - start) / 1000);
  };

  // Lines above --------------------------------------------------------------------------------

  TaskLog.prototype.showLine = function (row) {
    var previous = this.pane.querySelector(".log-line.is-target");
    if (previous) { previous.classList.remove("is-target"); }
    row.classList.add("is-target");
    this.setFollowing(false);
    row.scrollIntoView({ block: "center" });
  };

  // Show line `seq`: at once if shown, else after loading the blocks above down to it.
  TaskLog.prototype.jumpTo = function (seq, blocksLeft) {
    var row = document.getElementById("L" + seq);
    if (row && this.pane.contains(row)) {
      this.showLine(row);
      return;
    }
    var control = this.lines.querySelector("[data-log-earlier]");
    var first = control && parseInt(control.getAttribute("data-before"), 10);
    if (!control || seq >= first || blocksLeft <= 0) { return; }
    var self = this;
    var from = Math.max(seq - 20, first - JUMP_BLOCK, 1);
    var url = this.root.getAttribute("data-earlier-url") + "?seq=" + first + "&from=" + from;
    htmx.ajax("GET", url, { target: control, swap: "outerHTML" }).then(function () {
      self.jumpTo(seq, blocksLeft - 1);
    });
  };

  // Wiring -------------------------------------------------------------------------------------

  function scan(root) {
    if (!root.querySelector) { return; }
    var element = root.matches && root.matches("[data-task-log]") ?
      root : root.querySelector("[data-task-log]");
    if (!element || (current && current.root === element)) { return; }
    if (current) { current.stop(); }
    current = new TaskLog(element);
  }

  // Where "Load earlier lines" inserts a block, the lines in view stay in view.
  var keep = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (current && target && target.matches && target.matches("[data-log-earlier]")) {
      keep = { pane: current.pane, fromEnd: current.pane.scrollHeight - current.pane.scrollTop };
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (keep) { keep.pane.scrollTop = keep.pane.scrollHeight - keep.fromEnd; }
  });
  document.addEventListener("htmx:afterSettle", function () { keep = null; });

  document.addEventListener("click", function (event) {
    var hit = event.target.closest("[data-log-hit]");
    if (hit && current) {
      event.preventDefault();
      current.jumpTo(parseInt(hit.getAttribute("data-log-hit"), 10), JUMP_BLOCKS);
      return;
    }
    var close = event.target.closest("[data-log-search-close]");
    if (close) {
      var results = close.closest(".log-search-results");
      if (results) { results.innerHTML = ""; }
    }
  });

  document.addEventListener("htmx:load", function (event) { scan(event.target); });
  window.semaphoreTaskLog = { scan: scan, current: function () { return current; } };
  scan(document);
})();
