// Live project pages: an element marked data-project-live listens to its project's task
// updates on the WebSocket (data-live-url, the original's `update` messages) and reloads its
// parts through htmx: data-tasks-url into #dashboard-tasks on every change, data-chart-url into
// #dashboard-chart when a task is created or finishes. At most one refresh per THROTTLE_MS; the
// socket reconnects with backoff and catches up on (re)connecting. No inline scripts: the CSP
// allows only files under /static, so URLs come from data- attributes.
//
// A boosted navigation re-inserts this script with the page: the second run only looks for new
// elements. Leaving the page (htmx cleans the element up) closes the socket.
(function () {
  "use strict";

  if (window.semaphoreProjectLive) {
    window.semaphoreProjectLive.scan(document);
    return;
  }

  var FINISHED = ["success", "error", "stopped", "rejected"];
  var THROTTLE_MS = 500;
  var FIRST_RETRY_MS = 1000;
  var MAX_RETRY_MS = 30000;

  // The page's own host and scheme, whatever the server thought (a proxy in front of it).
  function socketUrl(value) {
    var url = new URL(value, window.location.href);
    url.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
    url.host = window.location.host;
    return url.toString();
  }

  function Live(root) {
    this.root = root;
    this.socket = null;
    this.timer = null;
    this.retryTimer = null;
    this.retryDelay = FIRST_RETRY_MS;
    this.busy = false;
    this.stopped = false;
    this.pending = { tasks: false, chart: false };
  }

  Live.prototype.alive = function () {
    return !this.stopped && this.root.isConnected;
  };

  Live.prototype.connect = function () {
    var self = this;
    this.retryTimer = null;
    if (!this.alive()) { this.stop(); return; }
    var socket;
    try {
      socket = new WebSocket(socketUrl(this.root.getAttribute("data-live-url")));
    } catch (error) {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", function () {
      self.retryDelay = FIRST_RETRY_MS;
      self.root.setAttribute("data-live", "connected");
      // Whatever changed while there was no socket (or before this one opened).
      self.schedule(true);
    });
    socket.addEventListener("message", function (event) { self.receive(event.data); });
    socket.addEventListener("close", function () {
      if (self.socket !== socket) { return; }
      self.socket = null;
      self.root.setAttribute("data-live", "disconnected");
      self.retry();
    });
  };

  Live.prototype.retry = function () {
    if (!this.alive()) { this.stop(); return; }
    var delay = this.retryDelay * (0.75 + Math.random() * 0.5);
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
    this.retryTimer = setTimeout(this.connect.bind(this), delay);
  };

  Live.prototype.receive = function (data) {
    var message;
    try { message = JSON.parse(data); } catch (error) { return; }
    if (!message || message.type !== "update") { return; }
    // A new task (waiting) or a finished one changes the chart; any change changes the lists.
    var chart = message.status === "waiting" || FINISHED.indexOf(message.status) >= 0;
    this.schedule(chart);
  };

  Live.prototype.schedule = function (chart) {
    this.pending.tasks = true;
    this.pending.chart = this.pending.chart || chart;
    if (!this.timer && !this.busy) {
      this.timer = setTimeout(this.flush.bind(this), THROTTLE_MS);
    }
  };

  Live.prototype.refresh = function (urlAttribute, selector) {
    var target = this.root.querySelector(selector);
    var url = this.root.getAttribute(urlAttribute);
    if (!target || !url) { return Promise.resolve(); }
    return window.htmx.ajax("GET", url, { target: target, swap: "outerHTML" });
  };

  Live.prototype.flush = function () {
    var self = this;
    this.timer = null;
    if (!this.alive()) { this.stop(); return; }
    var requests = [];
    if (this.pending.tasks) { requests.push(this.refresh("data-tasks-url", "#dashboard-tasks")); }
    if (this.pending.chart) { requests.push(this.refresh("data-chart-url", "#dashboard-chart")); }
    this.pending = { tasks: false, chart: false };
    this.busy = true;
    Promise.all(requests).catch(function () { return null; }).then(function () {
      self.busy = false;
      if (self.pending.tasks || self.pending.chart) {
        self.timer = setTimeout(self.flush.bind(self), THROTTLE_MS);
      }
    });
  };

  Live.prototype.stop = function () {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
    if (this.socket) {
      var socket = this.socket;
      this.socket = null;
      socket.close();
    }
  };

  var live = new WeakMap();

  function scan(root) {
    var elements = root.querySelectorAll ? root.querySelectorAll("[data-project-live]") : [];
    if (root.matches && root.matches("[data-project-live]")) { elements = [root].concat(Array.from(elements)); }
    Array.prototype.forEach.call(elements, function (element) {
      if (live.has(element)) { return; }
      var instance = new Live(element);
      live.set(element, instance);
      instance.connect();
    });
  }

  document.addEventListener("htmx:load", function (event) { scan(event.target); });
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var instance = live.get(event.target);
    if (instance) { instance.stop(); }
  });

  window.semaphoreProjectLive = { scan: scan };
  scan(document);
})();
