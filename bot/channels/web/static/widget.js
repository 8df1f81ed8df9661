/* carebot chat widget: one tag, no build step, no dependencies. Protocol and settings: docs/web.md.
 * <script src="https://bot.example/widget.js" defer data-lang="de" data-title="…" data-position="right"></script>
 * Nothing is stored in the browser before the visitor opens the chat; then a visitor token in localStorage.
 * Every text is set with textContent: nothing a customer, an agent or an editor writes is read as HTML. */
(function () {
  "use strict";
  if (window.carebot && window.carebot.version) return;
  var LABELS = /*CAREBOT_LABELS*/null;
  var script = document.currentScript;
  var base = new URL(script ? script.src : "/widget.js", location.href);
  var data = (script && script.dataset) || {};
  var STORE = "carebot:" + base.origin;
  var texts = (LABELS && LABELS.texts) || {};

  function pickLang() {
    var wanted = [data.lang, document.documentElement.lang].concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || "").toLowerCase().split("-")[0];
      if (code && texts[code]) return code;
    }
    return (LABELS && LABELS.default) || Object.keys(texts)[0] || "en";
  }
  var lang = pickLang();
  var T = texts[lang] || {};
  function t(name, values) {
    var text = T[name] || name;
    return text.replace(/\$\{?([a-z_]+)\}?/g, function (all, key) {
      return values && key in values ? String(values[key]) : all;
    });
  }

  var CSS = [
    ":host{all:initial;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}",
    "*{box-sizing:border-box;font-family:inherit}",
    "button{font:inherit;cursor:pointer}",
    ":focus-visible{outline:3px solid #f5a623;outline-offset:2px}",
    ".launcher{position:fixed;bottom:20px;z-index:2147483000;border:0;border-radius:28px;padding:14px 20px;" +
      "background:#0b5cab;color:#fff;font-size:16px;font-weight:600;box-shadow:0 4px 14px rgba(0,0,0,.3)}",
    ".launcher:hover{background:#084a8a}",
    ".launcher{display:flex;align-items:center;gap:8px}.launcher svg{width:20px;height:20px}",
    ".badge{background:#fff;color:#0b5cab;border-radius:10px;padding:1px 8px;font-size:13px}",
    ".right{right:20px}.left{left:20px}",
    ".panel{position:fixed;bottom:84px;z-index:2147483001;width:380px;max-width:calc(100vw - 24px);" +
      "height:580px;max-height:calc(100vh - 104px);display:flex;flex-direction:column;background:#fff;color:#1a1a1a;" +
      "border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden;font-size:15px;line-height:1.4}",
    ".panel[hidden]{display:none}",
    "header{background:#0b5cab;color:#fff;padding:12px 14px;display:flex;gap:8px;align-items:flex-start}",
    "header div{flex:1}",
    "h2{margin:0;font-size:17px}",
    "header p{margin:4px 0 0;font-size:13px;color:#fff}",
    ".close{background:transparent;border:0;color:#fff;font-size:24px;line-height:1;padding:2px 8px;border-radius:6px}",
    ".bar{background:#fff4d6;color:#4d3600;border-bottom:1px solid #e0c27a;padding:8px 14px;font-size:13px}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;background:#fafbfc}",
    ".msg{max-width:85%;padding:8px 11px;border-radius:10px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".msg .who{display:block;font-size:12px;font-weight:600;margin-bottom:2px}",
    ".bot{align-self:flex-start;background:#eef1f4;color:#1a1a1a}.bot .who{color:#3d4752}",
    ".agent{align-self:flex-start;background:#fff4d6;color:#1a1a1a;border:1px solid #e0c27a}.agent .who{color:#5c4100}",
    ".customer{align-self:flex-end;background:#0b5cab;color:#fff}.customer .who{color:#fff}",
    ".pending{opacity:.8}.state{display:block;font-size:12px;margin-top:2px}",
    ".choices{display:flex;flex-wrap:wrap;gap:6px;margin-top:8px}",
    ".choices button{background:#fff;color:#0b5cab;border:1px solid #0b5cab;border-radius:16px;padding:6px 12px;font-size:14px}",
    ".choices button:hover:not(:disabled){background:#e7f0fa}",
    ".choices button:disabled{color:#5f6b76;border-color:#9aa5b1;cursor:default}",
    ".typing{padding:0 14px 6px;font-size:13px;color:#3d4752;background:#fafbfc}",
    ".notice{padding:8px 14px;font-size:13px;background:#fdecea;color:#7a1d12}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #d5dbe1;background:#fff}",
    "textarea{flex:1;resize:none;font:inherit;font-size:15px;padding:8px;border:1px solid #6b7785;border-radius:8px;" +
      "color:#1a1a1a;background:#fff;min-height:42px;max-height:120px}",
    ".send{background:#0b5cab;color:#fff;border:0;border-radius:8px;padding:0 16px;font-weight:600}",
    "[hidden]{display:none!important}",
    "@media (max-width:480px){.panel{bottom:0;right:0;left:0;width:100vw;max-width:100vw;height:100vh;max-height:100vh;border-radius:0}}",
  ].join("\n");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var side = data.position === "left" ? "left" : "right";
  var host = el("div", { id: "carebot-widget" });
  var root = host.attachShadow({ mode: "open" });
  if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } else {
    root.appendChild(el("style", {}, CSS));
  }
  var launcher = el("button", { type: "button", class: "launcher " + side, "aria-label": t("launcher"),
    "aria-expanded": "false", "aria-controls": "carebot-panel" });
  var icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  path.setAttribute("fill", "currentColor");
  icon.appendChild(path);
  launcher.appendChild(icon);
  launcher.appendChild(el("span", {}, "Chat"));
  var badge = el("span", { class: "badge" }, t("unread"));
  badge.hidden = true;
  launcher.appendChild(badge);
  var panel = el("div", { id: "carebot-panel", class: "panel " + side, role: "dialog", "aria-labelledby": "carebot-title" });
  panel.hidden = true;
  var header = el("header");
  var heading = el("div");
  heading.appendChild(el("h2", { id: "carebot-title" }, data.title || t("title")));
  heading.appendChild(el("p", {}, t("intro")));
  var closeButton = el("button", { type: "button", class: "close", "aria-label": t("close") }, "×");
  header.appendChild(heading);
  header.appendChild(closeButton);
  var bar = el("div", { class: "bar", role: "status" });
  bar.hidden = true;
  var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": data.title || t("title"), tabindex: "0" });
  var typing = el("div", { class: "typing", "aria-live": "polite" });
  typing.hidden = true;
  var notice = el("div", { class: "notice", role: "alert" });
  notice.hidden = true;
  var form = el("form");
  var box = el("textarea", { rows: "2", "aria-label": t("message"), maxlength: "4000", autocomplete: "off" });
  var sendButton = el("button", { type: "submit", class: "send" }, t("send"));
  form.appendChild(box);
  form.appendChild(sendButton);
  [header, bar, log, typing, notice, form].forEach(function (node) { panel.appendChild(node); });
  root.appendChild(launcher);
  root.appendChild(panel);

  // --- state ---------------------------------------------------------------------------------------------
  var token = null, lastSeq = 0, socket = null, source = null, connected = false, started = false;
  var queue = [];          // {id, text, payload?}: sent or to send, until the server acknowledges
  var shown = {};          // seq -> true: every message is shown once
  var pendingNodes = {};   // client id -> node of a message not yet confirmed
  var retryTimer = null, attempts = 0, failures = 0;
  var fallback = data.transport === "sse";
  var identity = null, limit = 4000;
  var live = false;        // false while a (re)connect replays what is already known to the visitor

  function storage() { try { return window.localStorage; } catch (e) { return null; } }
  function save() {
    var s = storage();
    if (!s) return;
    if (token) s.setItem(STORE + ":token", token);
    s.setItem(STORE + ":queue", JSON.stringify(queue));
  }
  function load() {
    var s = storage();
    if (!s) return;
    token = s.getItem(STORE + ":token");
    try { queue = JSON.parse(s.getItem(STORE + ":queue") || "[]") || []; } catch (e) { queue = []; }
  }
  function newId() {
    var bytes = new Uint8Array(9);
    crypto.getRandomValues(bytes);
    return "c" + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function say(text) { notice.textContent = text; notice.hidden = !text; }
  function scroll() { log.scrollTop = log.scrollHeight; }

  // --- rendering -------------------------------------------------------------------------------------------
  function bubble(author, agent, text) {
    var node = el("div", { class: "msg " + author });
    var who = author === "customer" ? t("label_you") : author === "agent" ? t("label_team", { agent: agent || "" }) : t("label_bot");
    node.appendChild(el("span", { class: "who" }, who));
    node.appendChild(el("span", { class: "text" }, text));
    return node;
  }
  function show(frame) {
    if (shown[frame.seq]) return;
    shown[frame.seq] = true;
    lastSeq = Math.max(lastSeq, frame.seq);
    if (frame.author === "customer" && frame.id && pendingNodes[frame.id]) {
      confirm(frame.id);
      return;
    }
    var node = bubble(frame.author, frame.agent, frame.text);
    if (frame.buttons && frame.buttons.length) {
      var row = el("div", { class: "choices" });
      // Only the newest hand-over's "never mind" can withdraw anything: older ones are switched off.
      if (frame.buttons.some(function (b) { return /^withdraw(:|$)/.test(b.payload); })) staleWithdraw();
      frame.buttons.forEach(function (b) {
        var button = el("button", { type: "button", "data-payload": b.payload }, b.label);
        button.addEventListener("click", function () {
          Array.prototype.forEach.call(row.querySelectorAll("button"), function (x) { x.disabled = true; });
          send({ id: newId(), text: b.label, payload: b.payload });
          box.focus();
        });
        row.appendChild(button);
      });
      node.appendChild(row);
    }
    log.appendChild(node);
    scroll();
    if (panel.hidden && frame.author !== "customer" && live) {
      badge.hidden = false;
      launcher.setAttribute("aria-label", t("launcher") + " – " + t("unread"));
    }
  }
  function staleWithdraw() {
    Array.prototype.forEach.call(log.querySelectorAll('button[data-payload^="withdraw"]'), function (x) { x.disabled = true; });
  }
  function pending(item) {
    var node = bubble("customer", null, item.text);
    node.classList.add("pending");
    node.appendChild(el("span", { class: "state" }, t("pending")));
    pendingNodes[item.id] = node;
    log.appendChild(node);
    scroll();
  }
  function confirm(id) {
    var node = pendingNodes[id];
    if (node) {
      node.classList.remove("pending");
      var state = node.querySelector(".state");
      if (state) node.removeChild(state);
      delete pendingNodes[id];
    }
    queue = queue.filter(function (item) { return item.id !== id; });
    save();
  }
  function drop(id) {
    var node = pendingNodes[id];
    if (node && node.parentNode) node.parentNode.removeChild(node);
    delete pendingNodes[id];
    queue = queue.filter(function (item) { return item.id !== id; });
    save();
  }

  // --- protocol --------------------------------------------------------------------------------------------
  function frameOf(item) {
    return item.payload ? { type: "button", id: item.id, payload: item.payload, label: item.text }
      : { type: "message", id: item.id, text: item.text };
  }
  function handle(frame) {
    switch (frame.type) {
      case "welcome":
        live = lastSeq > 0;  // a reconnect: what it replays was missed while away, so it counts as new
        token = frame.token; limit = (frame.limits && frame.limits.text) || limit;
        connected = true; attempts = 0; failures = 0; save(); say("");
        if (identity) { transmit(identity); identity = null; }
        queue.forEach(function (item) { transmit(frameOf(item)); });
        break;
      case "message": show(frame); break;
      case "ack": if (frame.seq) shown[frame.seq] = true; confirm(frame.id); break;
      case "typing": typing.textContent = t("typing"); typing.hidden = !frame.on; break;
      case "status":
        live = true;  // the replay on connect ends with the status frame
        bar.hidden = !frame.ticket;
        bar.textContent = frame.ticket ? frame.ticket.text : "";
        if (!frame.ticket) staleWithdraw();  // closed (resolved, withdrawn): nothing left to withdraw
        break;
      case "identified":
        if (token && frame.token.split(".")[1] === token.split(".")[1]) { token = frame.token; save(); }
        else switchTo(frame.token);
        break;
      case "error": problem(frame); break;
    }
  }
  function problem(frame) {
    if (frame.code === "rate_limited" && frame.id) {
      say(t("rate_limited", { seconds: frame.retry_after }));
      setTimeout(function () {
        queue.forEach(function (item) { if (item.id === frame.id) transmit(frameOf(item)); });
      }, (frame.retry_after || 1) * 1000);
    } else if (frame.code === "too_long" && frame.id) {
      var item = queue.filter(function (x) { return x.id === frame.id; })[0];
      drop(frame.id);
      if (item && !box.value) box.value = item.text;
      say(t("too_long", { limit: frame.limit, length: frame.length }));
    } else if (frame.code === "bad_token") {
      token = null; var s = storage(); if (s) s.removeItem(STORE + ":token");
    } else if (frame.id) {
      drop(frame.id);   // refused for good (a stale button): never retried
    } else if (window.console) {
      console.warn("carebot:", frame.code, frame.message);
    }
  }
  function transmit(frame) {
    if (!connected) return;
    if (socket) {
      socket.send(JSON.stringify(frame));
    } else if (fallback) {
      if (frame.type !== "identify") { typing.textContent = t("typing"); typing.hidden = false; }
      fetch(base.origin + "/widget/send", {
        method: "POST", body: JSON.stringify(frame),
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + token },
      }).then(function (r) { return r.json(); }).then(function (frames) {
        (Array.isArray(frames) ? frames : [frames]).forEach(handle);
      }).catch(function () {}).then(function () { typing.hidden = true; });
    }
  }
  function send(item) {
    queue.push(item);
    save();
    pending(item);
    if (connected) transmit(frameOf(item)); else say(t("offline"));
  }

  function getToken() {
    if (token) return Promise.resolve(token);
    return fetch(base.origin + "/widget/token", { method: "POST" }).then(function (r) {
      if (!r.ok) throw new Error("token " + r.status);
      return r.json();
    }).then(function (body) { token = body.token; save(); return token; });
  }
  function connect() {
    clearTimeout(retryTimer);
    if (socket || source || !navigator.onLine) return;
    // A failed token request while the browser is online: the bot refused this site or is down.
    getToken().then(function () { if (fallback) openStream(); else openSocket(); }, function () {
      retry(navigator.onLine ? "refused" : null);
    });
  }
  function openSocket() {
    var url = base.origin.replace(/^http/, "ws") + "/widget/ws";
    var ws = socket = new WebSocket(url);
    ws.onopen = function () { ws.send(JSON.stringify({ type: "hello", token: token, last_seq: lastSeq, lang: lang })); };
    ws.onmessage = function (event) { try { handle(JSON.parse(event.data)); } catch (e) {} };
    ws.onclose = function (event) {
      var wasConnected = connected;
      if (socket === ws) { socket = null; connected = false; }
      if (event.code === 4001) { token = null; }
      if (!wasConnected && ++failures >= 3 && event.code !== 1008) fallback = true;  // WebSocket blocked?
      retry(event.code === 1008 ? "refused" : null);
    };
  }
  function openStream() {
    var url = base.origin + "/widget/events?after=" + lastSeq + "&lang=" + lang + "&token=" + encodeURIComponent(token);
    var es = source = new EventSource(url);
    ["welcome", "message", "status"].forEach(function (name) {
      es.addEventListener(name, function (event) { try { handle(JSON.parse(event.data)); } catch (e) {} });
    });
    es.onerror = function () {
      es.close();
      if (source === es) { source = null; connected = false; }
      retry();
    };
  }
  function retry(reason) {
    connected = false;
    if (!started) return;
    say(reason === "refused" || attempts > 3 ? t("unavailable") : t("offline"));
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, Math.min(15000, 1000 * Math.pow(2, attempts++)));
  }
  function disconnect() {
    connected = false;
    if (socket) { var ws = socket; socket = null; ws.onclose = null; ws.close(); }
    if (source) { source.close(); source = null; }
  }
  function switchTo(newToken) {
    disconnect();
    token = newToken; lastSeq = 0; shown = {}; pendingNodes = {}; save();
    log.textContent = "";
    queue.forEach(pending);
    connect();
  }

  // --- opening, closing, keyboard ------------------------------------------------------------------------
  function open() {
    panel.hidden = false;
    badge.hidden = true;
    launcher.setAttribute("aria-label", t("launcher"));
    launcher.setAttribute("aria-expanded", "true");
    if (!started) { started = true; load(); queue.forEach(pending); connect(); }
    box.focus();
  }
  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }
  launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { event.preventDefault(); close(); } });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value.trim();
    if (!text) return;
    if (text.length > limit) { say(t("too_long", { limit: limit, length: text.length })); return; }
    box.value = "";
    say(connected ? "" : t("offline"));
    send({ id: newId(), text: text });
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); form.requestSubmit(); }
  });
  function refuseFiles(event) {
    var items = (event.clipboardData || event.dataTransfer || {}).files;
    if (items && items.length) { event.preventDefault(); say(t("attachments")); }
  }
  box.addEventListener("paste", refuseFiles);
  panel.addEventListener("drop", refuseFiles);
  panel.addEventListener("dragover", function (event) { event.preventDefault(); });
  window.addEventListener("offline", function () { if (started) { disconnect(); say(t("offline")); } });
  window.addEventListener("online", function () { if (started) { attempts = 0; connect(); } });

  function mount() { document.body.appendChild(host); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  window.carebot = {
    version: 1,
    open: open,
    close: close,
    /** Forget this browser's conversation (for a site's logout): token, queue and the view. */
    reset: function () {
      disconnect();
      var s = storage();
      if (started && s) { s.removeItem(STORE + ":token"); s.removeItem(STORE + ":queue"); }
      token = null; lastSeq = 0; queue = []; shown = {}; pendingNodes = {}; identity = null;
      log.textContent = ""; bar.hidden = true; say("");
      if (started && !panel.hidden) connect(); else started = false;
    },
    /** {id, name, email, hash}: hash = hex HMAC-SHA256 of id under the bot's BOT_WEB_IDENTITY_SECRET. */
    identify: function (user) {
      identity = { type: "identify", user_id: String(user.id), name: user.name || "", email: user.email || "", hash: user.hash || "" };
      if (connected) { transmit(identity); identity = null; }
    },
  };
  host.dataset.ready = String(Math.round(performance.now()));  // ms since navigation: benchmarks read it
})();
