/*
 * The sales agent's chat widget. Embed with one tag:
 *   <script src="https://APP/static/widget/widget.js" data-key="KEY" async></script>
 *
 * It adds a bubble and a chat panel inside a shadow root (styles stay inside, as a
 * constructed stylesheet: no inline style for the site's Content-Security-Policy),
 * talks to wss://APP/ws/widget/KEY/ (the host of this script's own src), keeps the
 * visitor token in localStorage per key, streams the reply as it is written, and
 * reconnects with backoff. Message text is only ever set with textContent.
 */
(function () {
  "use strict";

  var script = document.currentScript ||
    document.querySelector('script[src*="widget/widget.js"][data-key]');
  if (!script || !script.dataset.key || window.__salesWidgetLoaded) return;
  window.__salesWidgetLoaded = true;

  var KEY = script.dataset.key;
  var SRC = new URL(script.src, window.location.href);
  var STORE = "sales-widget:" + KEY + ":token";
  var REFUSED = { 4403: true, 4404: true }; // origin not allowed, unknown key: do not retry

  var CSS = [
    ":host { all: initial; --accent: #0b6e4f; font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }",
    ".bubble { position: fixed; right: 20px; bottom: 20px; width: 58px; height: 58px; border-radius: 50%;",
    "  border: 0; background: var(--accent); color: #fff; cursor: pointer; box-shadow: 0 6px 20px rgba(0,0,0,.25);",
    "  z-index: 2147483646; display: flex; align-items: center; justify-content: center; }",
    ".bubble svg { width: 28px; height: 28px; fill: currentColor; }",
    ".panel { position: fixed; right: 20px; bottom: 92px; width: min(370px, calc(100vw - 40px));",
    "  height: min(540px, calc(100vh - 120px)); background: #fff; color: #17212b; border-radius: 14px;",
    "  box-shadow: 0 12px 40px rgba(0,0,0,.25); display: flex; flex-direction: column; overflow: hidden;",
    "  z-index: 2147483647; }",
    ".panel[hidden] { display: none; }",
    ".head { background: var(--accent); color: #fff; padding: 12px 14px; display: flex; align-items: center; }",
    ".head strong { flex: 1; }",
    ".head button { background: none; border: 0; color: inherit; font-size: 22px; line-height: 1; cursor: pointer; }",
    ".log { flex: 1; overflow-y: auto; padding: 14px; display: flex; flex-direction: column; gap: 8px; background: #f6f8f7; }",
    ".msg { max-width: 82%; padding: 8px 12px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }",
    ".msg.user { align-self: flex-end; background: var(--accent); color: #fff; border-bottom-right-radius: 4px; }",
    ".msg.assistant, .msg.agent { align-self: flex-start; background: #fff; border: 1px solid #e3e8e6; border-bottom-left-radius: 4px; }",
    ".msg.pending { opacity: .6; } .msg.failed { opacity: .6; text-decoration: line-through; }",
    ".typing { align-self: flex-start; padding: 4px 12px 10px; color: #5b6773; }",
    ".typing[hidden] { display: none; }",
    ".typing span { display: inline-block; width: 6px; height: 6px; margin-right: 3px; border-radius: 50%;",
    "  background: currentColor; animation: blink 1.2s infinite; }",
    ".typing span:nth-child(2) { animation-delay: .2s; } .typing span:nth-child(3) { animation-delay: .4s; }",
    "@keyframes blink { 0%, 80%, 100% { opacity: .2; } 40% { opacity: 1; } }",
    ".status { font-size: 12px; color: #5b6773; padding: 0 14px; min-height: 18px; }",
    ".status.error { color: #b42318; }",
    "form { display: flex; gap: 8px; padding: 10px 12px 12px; border-top: 1px solid #e3e8e6; }",
    "textarea { flex: 1; resize: none; font: inherit; padding: 8px 10px; border: 1px solid #cfd8d4; border-radius: 8px; height: 40px; }",
    "form button { border: 0; border-radius: 8px; padding: 0 14px; background: var(--accent); color: #fff; font: inherit; cursor: pointer; }",
    "form button:disabled { opacity: .5; cursor: default; }"
  ].join("\n");

  // DOM --------------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  var host = el("div");
  host.id = "sales-widget";
  var root = host.attachShadow({ mode: "open" });
  // A constructed stylesheet is not an inline <style> for the page's Content-Security-
  // Policy, so the widget works on sites that forbid inline styles; older browsers get a
  // <style> carrying this script's nonce (when the site gave it one).
  var style = null;
  try {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) {
    style = el("style");
    if (script.nonce) style.nonce = script.nonce;
    style.textContent = CSS;
  }

  var bubble = el("button", "bubble");
  bubble.type = "button";
  bubble.setAttribute("aria-label", "Chat");
  var SVG = "http://www.w3.org/2000/svg";
  var icon = document.createElementNS(SVG, "svg");
  var iconPath = document.createElementNS(SVG, "path");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  iconPath.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z");
  icon.append(iconPath);
  bubble.append(icon);

  var panel = el("section", "panel");
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  var head = el("div", "head");
  var title = el("strong", "", "Chat");
  var closeButton = el("button", "", "×");
  closeButton.type = "button";
  closeButton.setAttribute("aria-label", "Cerrar");
  head.append(title, closeButton);
  var log = el("div", "log");
  log.setAttribute("aria-live", "polite");
  var typing = el("div", "typing");
  typing.hidden = true;
  typing.append(el("span"), el("span"), el("span"));
  var status = el("div", "status");
  var form = el("form");
  var input = el("textarea");
  input.rows = 1;
  input.placeholder = "Escriba su mensaje…";
  input.setAttribute("aria-label", "Mensaje");
  var sendButton = el("button", "", "Enviar");
  sendButton.type = "submit";
  form.append(input, sendButton);
  panel.append(head, log, status, form);
  if (style) root.append(style);
  root.append(bubble, panel);

  // State ------------------------------------------------------------------------------

  var socket = null;
  var attempts = 0;
  var greeting = "";
  var outbox = []; // {id, text, node}: sent, not yet acknowledged; resent after a reconnect
  var streaming = null; // the assistant bubble being written
  var typingTimer = null;
  var pingTimer = null;

  function token(value) {
    try {
      if (value === undefined) return window.localStorage.getItem(STORE) || "";
      window.localStorage.setItem(STORE, value);
    } catch (e) { /* storage blocked: the visitor is new on each visit */ }
    return value || "";
  }

  function newId() {
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function addMessage(role, text, when) {
    var node = el("div", "msg " + role, text);
    if (when) node.title = new Date(when).toLocaleString();
    log.insertBefore(node, typing);
    scrollDown();
    return node;
  }

  function showTyping(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) typingTimer = setTimeout(function () { typing.hidden = true; }, 8000);
    scrollDown();
  }

  function setStatus(text, isError) {
    status.textContent = text || "";
    status.className = "status" + (isError ? " error" : "");
  }

  function render(history) {
    log.textContent = "";
    log.append(typing);
    streaming = null;
    if (greeting) addMessage("assistant", greeting);
    var seen = {};
    history.forEach(function (item) {
      if (item.id) seen[item.id] = true;
      addMessage(item.role, item.text, item.time);
    });
    outbox = outbox.filter(function (item) { return !seen[item.id]; });
    outbox.forEach(function (item) {
      item.node = addMessage("user pending", item.text);
      transmit(item);
    });
  }

  // Socket -----------------------------------------------------------------------------

  function socketUrl() {
    var scheme = SRC.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + SRC.host + "/ws/widget/" + encodeURIComponent(KEY) + "/";
    var saved = token();
    return saved ? url + "?token=" + encodeURIComponent(saved) : url;
  }

  function connect() {
    setStatus(attempts ? "Reconectando…" : "Conectando…");
    socket = new WebSocket(socketUrl());
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      var handler = handlers[frame.type];
      if (handler) handler(frame);
    };
    socket.onclose = function (event) {
      clearInterval(pingTimer);
      showTyping(false);
      sendButton.disabled = true;
      if (REFUSED[event.code]) return; // the error frame already said why
      var delay = Math.min(30000, 1000 * Math.pow(2, attempts)) + Math.random() * 500;
      attempts += 1;
      setStatus("Sin conexión. Reintentando…", true);
      setTimeout(connect, delay);
    };
  }

  function transmit(item) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "message", text: item.text, id: item.id }));
    }
  }

  var handlers = {
    ready: function (frame) {
      attempts = 0;
      token(frame.token);
      var config = frame.config || {};
      if (/^#[0-9a-fA-F]{6}$/.test(config.color || "")) host.style.setProperty("--accent", config.color);
      title.textContent = config.title || "Chat";
      greeting = config.greeting || "";
      if (config.max_chars) input.maxLength = config.max_chars;
      sendButton.disabled = false;
      setStatus("");
      render(frame.history || []);
      pingTimer = setInterval(function () {
        if (socket.readyState === WebSocket.OPEN) socket.send('{"type":"ping"}');
      }, 25000);
    },
    ack: function (frame) {
      outbox = outbox.filter(function (item) {
        if (item.id !== frame.id) return true;
        item.node.classList.remove("pending");
        return false;
      });
      showTyping(true);
    },
    typing: function () { if (!streaming) showTyping(true); },
    token: function (frame) {
      showTyping(false);
      if (!streaming) streaming = addMessage("assistant", "");
      streaming.textContent += frame.text;
      scrollDown();
    },
    message: function (frame) {
      showTyping(false);
      var node = streaming || addMessage(frame.role || "assistant", "");
      node.textContent = frame.text; // the stored reply is the authority
      streaming = null;
      scrollDown();
    },
    error: function (frame) {
      setStatus(frame.message || "Error", true);
      if (!frame.id) return;
      outbox = outbox.filter(function (item) {
        if (item.id !== frame.id) return true;
        item.node.classList.remove("pending");
        item.node.classList.add("failed");
        return false;
      });
    }
  };

  // Events -----------------------------------------------------------------------------

  function toggle(open) {
    panel.hidden = !open;
    bubble.setAttribute("aria-expanded", String(open));
    if (open) { input.focus(); scrollDown(); }
  }

  bubble.addEventListener("click", function () { toggle(panel.hidden); });
  closeButton.addEventListener("click", function () { toggle(false); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || sendButton.disabled) return;
    var item = { id: newId(), text: text, node: addMessage("user pending", text) };
    outbox.push(item);
    transmit(item);
    input.value = "";
    setStatus("");
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : sendButton.click();
    }
  });

  function start() {
    document.body.appendChild(host);
    sendButton.disabled = true;
    connect();
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
