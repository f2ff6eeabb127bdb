/*
 * The sales agent's chat widget. Embed with one tag:
 *   <script src="https://APP/static/widget/widget.js" data-key="KEY" async></script>
 *
 * It adds a bubble and a chat panel inside a shadow root (styles stay inside, as a
 * constructed stylesheet: no inline style for the site's Content-Security-Policy),
 * talks to wss://APP/ws/widget/KEY/ (the host of this script's own src), keeps the
 * visitor token in localStorage per key, streams the reply as it is written, and
 * reconnects with backoff. Message text is only ever set with textContent.
 *
 * Every text the visitor reads is in STRINGS, in the tenant's language and formality
 * (usted or tú), which the server's "ready" frame names; until the first one arrives,
 * the language last seen for this key, else the page's. The server sends codes and
 * numbers, never wording: an error is {"type": "error", "code": "rate_limited",
 * "retry_after": 59}, worded here (and counted down, Send disabled, until 0).
 * A paste longer than the server's limit is cut here, with a notice, never silently.
 * The typing dots show only while the server says a bot turn runs ("typing" frames with
 * active true/false and the turn's id); a rep's messages carry their first name, and a
 * rep who takes over is announced ("advisor" frame).
 * A message that carries a quote ({"quote": {"reference", "download_url", "accept_payload",
 * "status"}}) shows a "Download PDF (Q-00042)" link (a signed, expiring URL; http(s) only)
 * and an "Accept quote" button; a press sends {"type": "quote_accept", "payload": …, "id"},
 * disables the button, and the chat's reply says how it went. Listeners only, no inline
 * handlers: the site's CSP may forbid them.
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
  var LANGUAGE_STORE = "sales-widget:" + KEY + ":language";
  var REFUSED = { 4403: true, 4404: true }; // origin not allowed, unknown key: do not retry
  var TYPING_SILENCE = 15000; // ms: a turn repeats "typing" every 4 s; silence means it died

  // Strings (strict JSON between the markers: tests/unit/test_widget_strings.py reads it).
  // "es" is formal (usted); "es-informal" holds what changes with tú. A missing key
  // falls back to the language's formal table, then to English.
  var STRINGS = /* strings */ {
    "en": {
      "open": "Open the chat",
      "close": "Close",
      "title": "Chat",
      "greeting": "Hello! How can we help you?",
      "placeholder": "Type your message…",
      "input": "Message",
      "send": "Send",
      "connecting": "Connecting…",
      "reconnecting": "Reconnecting…",
      "offline": "Offline. Retrying…",
      "rate_limited": "Too many messages: wait {n} s.",
      "too_long": "Messages can be up to {max} characters.",
      "cut": "Your message was cut to {max} characters.",
      "bad_frame": "The message could not be sent.",
      "unknown_key": "This chat is not available.",
      "origin_refused": "This chat is not available on this site.",
      "error": "Something went wrong. Please try again.",
      "failed": "Not sent",
      "advisor": "{name} · Sales team",
      "joined": "{name} from the sales team joined the conversation.",
      "quote_download": "Download PDF ({ref})",
      "quote_accept": "Accept quote",
      "quote_accept_message": "I accept quote {ref}",
      "quote_accepting": "Sending…",
      "quote_pressed": "Acceptance sent",
      "quote_accepted": "Quote accepted",
      "quote_closed": "No longer open",
      "unknown_quote": "This quote cannot be accepted here."
    },
    "es": {
      "open": "Abrir el chat",
      "close": "Cerrar",
      "title": "Chat",
      "greeting": "¡Hola! ¿En qué podemos ayudarle?",
      "placeholder": "Escriba su mensaje…",
      "input": "Mensaje",
      "send": "Enviar",
      "connecting": "Conectando…",
      "reconnecting": "Reconectando…",
      "offline": "Sin conexión. Reintentando…",
      "rate_limited": "Demasiados mensajes: espere {n} s.",
      "too_long": "Los mensajes pueden tener hasta {max} caracteres.",
      "cut": "Su mensaje se ha recortado a {max} caracteres.",
      "bad_frame": "No se ha podido enviar el mensaje.",
      "unknown_key": "Este chat no está disponible.",
      "origin_refused": "Este chat no está disponible en este sitio.",
      "error": "Algo ha fallado. Inténtelo de nuevo.",
      "failed": "No enviado",
      "advisor": "{name} · Equipo comercial",
      "joined": "{name}, del equipo comercial, se ha unido a la conversación.",
      "quote_download": "Descargar PDF ({ref})",
      "quote_accept": "Aceptar presupuesto",
      "quote_accept_message": "Acepto el presupuesto {ref}",
      "quote_accepting": "Enviando…",
      "quote_pressed": "Aceptación enviada",
      "quote_accepted": "Presupuesto aceptado",
      "quote_closed": "Ya no está abierto",
      "unknown_quote": "Este presupuesto no se puede aceptar aquí."
    },
    "es-informal": {
      "greeting": "¡Hola! ¿En qué podemos ayudarte?",
      "placeholder": "Escribe tu mensaje…",
      "rate_limited": "Demasiados mensajes: espera {n} s.",
      "cut": "Tu mensaje se ha recortado a {max} caracteres.",
      "error": "Algo ha fallado. Inténtalo de nuevo."
    },
    "pt": {
      "open": "Abrir o chat",
      "close": "Fechar",
      "title": "Chat",
      "greeting": "Olá! Como podemos ajudar?",
      "placeholder": "Escreva sua mensagem…",
      "input": "Mensagem",
      "send": "Enviar",
      "connecting": "Conectando…",
      "reconnecting": "Reconectando…",
      "offline": "Sem conexão. Tentando novamente…",
      "rate_limited": "Muitas mensagens: aguarde {n} s.",
      "too_long": "As mensagens podem ter até {max} caracteres.",
      "cut": "Sua mensagem foi cortada para {max} caracteres.",
      "bad_frame": "Não foi possível enviar a mensagem.",
      "unknown_key": "Este chat não está disponível.",
      "origin_refused": "Este chat não está disponível neste site.",
      "error": "Algo deu errado. Tente novamente.",
      "failed": "Não enviada",
      "advisor": "{name} · Equipe comercial",
      "joined": "{name}, da equipe comercial, entrou na conversa.",
      "quote_download": "Baixar PDF ({ref})",
      "quote_accept": "Aceitar orçamento",
      "quote_accept_message": "Aceito o orçamento {ref}",
      "quote_accepting": "Enviando…",
      "quote_pressed": "Aceitação enviada",
      "quote_accepted": "Orçamento aceito",
      "quote_closed": "Não está mais aberto",
      "unknown_quote": "Este orçamento não pode ser aceito aqui."
    }
  } /* end strings */;
  var ERROR_KEYS = {
    rate_limited: 1, too_long: 1, bad_frame: 1, unknown_quote: 1, unknown_key: 1, origin_refused: 1
  };

  var CSS = [
    ":host { all: initial; --accent: #0b6e4f; font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }",
    "*, *::before, *::after { box-sizing: border-box; }",
    ".bubble { position: fixed; right: 20px; bottom: 20px; width: 58px; height: 58px; border-radius: 50%;",
    "  border: 0; background: var(--accent); color: #fff; cursor: pointer; box-shadow: 0 6px 20px rgba(0,0,0,.25);",
    "  z-index: 2147483646; display: flex; align-items: center; justify-content: center; }",
    ".bubble svg { width: 28px; height: 28px; fill: currentColor; }",
    ".panel { position: fixed; right: 20px; bottom: 92px; width: min(370px, calc(100vw - 40px));",
    "  height: min(540px, calc(100vh - 120px)); background: #fff; color: #17212b; border-radius: 14px;",
    "  box-shadow: 0 12px 40px rgba(0,0,0,.25); display: flex; flex-direction: column; overflow: hidden;",
    "  z-index: 2147483647; }",
    ".panel[hidden] { display: none; }",
    ".head { background: var(--accent); color: #fff; padding: 12px 14px; display: flex; align-items: center; gap: 8px; }",
    ".head strong { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }",
    ".head button { background: none; border: 0; color: inherit; font-size: 22px; line-height: 1; cursor: pointer; }",
    ".log { flex: 1; min-height: 0; overflow-y: auto; overflow-x: hidden; padding: 14px; display: flex;",
    "  flex-direction: column; gap: 8px; background: #f6f8f7; }",
    ".msg { max-width: 82%; padding: 8px 12px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; }",
    ".msg.user { align-self: flex-end; background: var(--accent); color: #fff; border-bottom-right-radius: 4px; }",
    ".msg.assistant, .msg.agent { align-self: flex-start; background: #fff; border: 1px solid #e3e8e6; border-bottom-left-radius: 4px; }",
    ".msg.agent { border-color: var(--accent); }",
    ".msg .who { display: block; font-size: 12px; font-weight: 600; color: var(--accent); margin-bottom: 2px; }",
    ".msg.pending { opacity: .6; } .msg.failed { opacity: .6; text-decoration: line-through; }",
    ".quote { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; margin-top: 8px; white-space: normal; }",
    ".quote a { color: var(--accent); font-weight: 600; text-decoration: underline; }",
    ".quote button { border: 0; border-radius: 8px; padding: 6px 12px; background: var(--accent); color: #fff; font: inherit; cursor: pointer; }",
    ".quote button:disabled { opacity: .6; cursor: default; }",
    ".joined { align-self: center; max-width: 92%; text-align: center; font-size: 12px; color: #5b6773; padding: 2px 8px; }",
    ".typing { align-self: flex-start; padding: 4px 12px 10px; color: #5b6773; }",
    ".typing[hidden] { display: none; }",
    ".typing span { display: inline-block; width: 6px; height: 6px; margin-right: 3px; border-radius: 50%;",
    "  background: currentColor; animation: blink 1.2s infinite; }",
    ".typing span:nth-child(2) { animation-delay: .2s; } .typing span:nth-child(3) { animation-delay: .4s; }",
    "@keyframes blink { 0%, 80%, 100% { opacity: .2; } 40% { opacity: 1; } }",
    ".status { font-size: 12px; color: #5b6773; padding: 0 14px; min-height: 18px; }",
    ".status.error { color: #b42318; } .status.notice { color: #8a5a00; }",
    "form { display: flex; gap: 8px; padding: 10px 12px 12px; border-top: 1px solid #e3e8e6; }",
    "textarea { flex: 1; min-width: 0; resize: none; font: inherit; padding: 8px 10px; border: 1px solid #cfd8d4; border-radius: 8px; height: 42px; }",
    "form button { flex: none; border: 0; border-radius: 8px; padding: 0 14px; background: var(--accent); color: #fff; font: inherit; cursor: pointer; }",
    "form button:disabled { opacity: .5; cursor: default; }",
    // A phone: the panel takes the width, and 16 px text keeps the browser from zooming in.
    "@media (max-width: 480px) {",
    "  .bubble { right: 14px; bottom: 14px; }",
    "  .panel { left: 10px; right: 10px; width: auto; bottom: 82px; height: calc(100vh - 96px); max-height: 640px; }",
    "  textarea { font-size: 16px; }",
    "}"
  ].join("\n");

  // Language ---------------------------------------------------------------------------

  function stored(key, value) {
    try {
      if (value === undefined) return window.localStorage.getItem(key) || "";
      window.localStorage.setItem(key, value);
    } catch (e) { /* storage blocked: the visitor is new on each visit */ }
    return value || "";
  }

  function supported(code) {
    code = String(code || "").slice(0, 2).toLowerCase();
    return STRINGS[code] ? code : "";
  }

  var saved = stored(LANGUAGE_STORE).split(":");
  var language = supported(saved[0]) || supported(document.documentElement.lang) ||
    supported(navigator.language) || "en";
  var formality = saved[1] === "informal" ? "informal" : "formal";

  // A number as the language writes it: 2.000 in Spanish and Portuguese, 2,000 in English.
  function number(value) {
    return String(value).replace(/\B(?=(\d{3})+(?!\d))/g, language === "en" ? "," : ".");
  }

  function t(key, params) {
    var own = formality === "informal" ? STRINGS[language + "-informal"] || {} : {};
    var text = own[key] || STRINGS[language][key] || STRINGS.en[key] || key;
    return text.replace(/\{(\w+)\}/g, function (match, name) {
      return params && params[name] !== undefined ? String(params[name]) : match;
    });
  }

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
  var title = el("strong");
  var closeButton = el("button", "", "×");
  closeButton.type = "button";
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
  var sendButton = el("button");
  sendButton.type = "submit";
  form.append(input, sendButton);
  panel.append(head, log, status, form);
  if (style) root.append(style);
  root.append(bubble, panel);

  // State ------------------------------------------------------------------------------

  var socket = null;
  var attempts = 0;
  var isReady = false; // the socket is open and the server said "ready"
  var tenantTitle = "";
  var greeting = "";
  var maxChars = 0; // the server's longest message, in characters (code points)
  var outbox = []; // {id, text, node}: sent, not yet acknowledged; resent after a reconnect
  var streaming = null; // the assistant bubble being written
  var typingTimer = null;
  var pingTimer = null;
  var endedTurns = {}; // turn id -> true: a late "typing" of an ended turn is ignored
  var advisor = ""; // the rep announced last in the log
  var cooldownUntil = 0; // rate limited until then (ms since the epoch)
  var cooldownTimer = null;
  var shown = { key: "", params: null, kind: "" }; // what the status line says
  var accepting = {}; // quote_accept frame id -> its button, until acked or refused

  function newId() {
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 10);
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function setStatus(key, params, kind) {
    shown = { key: key || "", params: params || null, kind: kind || "" };
    status.textContent = key ? t(key, params) : "";
    status.className = "status" + (kind ? " " + kind : "");
  }

  function applyStrings() {
    panel.setAttribute("lang", language);
    bubble.setAttribute("aria-label", t("open"));
    closeButton.setAttribute("aria-label", t("close"));
    title.textContent = tenantTitle || t("title");
    input.placeholder = t("placeholder");
    input.setAttribute("aria-label", t("input"));
    sendButton.textContent = t("send");
    setStatus(shown.key, shown.params, shown.kind); // in the language just learnt
  }

  function updateSend() {
    sendButton.disabled = !isReady || Date.now() < cooldownUntil;
  }

  function addLine(node) {
    log.insertBefore(node, typing);
    scrollDown();
    return node;
  }

  function addMessage(role, text, when, author, quote) {
    var node = el("div", "msg " + role);
    if (author) node.append(el("span", "who", t("advisor", { name: author })));
    node.append(el("span", "body", text));
    if (quote) node.append(quoteBlock(quote));
    if (when) node.title = new Date(when).toLocaleString(language);
    return addLine(node);
  }

  // Only a web address: a "javascript:" link must never reach the page.
  function safeUrl(value) {
    try {
      var url = new URL(String(value || ""), SRC);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : "";
    } catch (e) { return ""; }
  }

  function quoteBlock(quote) {
    var box = el("div", "quote");
    var href = safeUrl(quote.download_url);
    if (href) {
      var link = el("a", "quote-pdf", t("quote_download", { ref: quote.reference || "" }));
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      box.append(link);
    }
    var button = el("button", "quote-accept");
    button.type = "button";
    var open = (quote.status || "sent") === "sent" && quote.accept_payload;
    button.textContent = open ? t("quote_accept") :
      t(quote.status === "accepted" ? "quote_accepted" : "quote_closed");
    button.disabled = !open;
    button.addEventListener("click", function () {
      if (button.disabled || !socket || socket.readyState !== WebSocket.OPEN) return;
      var id = newId();
      // What the server stores as the visitor's words (channels_app.inbox.acceptance).
      var words = t("quote_accept_message", { ref: quote.reference || "" });
      var said = addMessage("user pending", words);
      accepting[id] = { button: button, node: said };
      button.disabled = true;
      button.textContent = t("quote_accepting");
      socket.send(JSON.stringify({ type: "quote_accept", payload: quote.accept_payload, id: id }));
    });
    box.append(button);
    return box;
  }

  function setBody(node, text) {
    node.querySelector(".body").textContent = text;
  }

  // Who speaks for the seller now: a rep's first message (or take-over) is announced once.
  function speaker(role, author) {
    if (role === "assistant") { advisor = ""; return; }
    if (role !== "agent" || !author || author === advisor) return;
    advisor = author;
    addLine(el("div", "joined", t("joined", { name: author })));
  }

  function showTyping(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) typingTimer = setTimeout(function () { typing.hidden = true; }, TYPING_SILENCE);
    scrollDown();
  }

  function render(history, current) {
    log.textContent = "";
    log.append(typing);
    streaming = null;
    advisor = "";
    if (greeting) addMessage("assistant", greeting);
    var seen = {};
    history.forEach(function (item) {
      if (item.id) seen[item.id] = true;
      speaker(item.role, item.author);
      addMessage(
        item.role, item.text, item.time, item.role === "agent" ? item.author : "", item.quote
      );
    });
    if (current) speaker("agent", current);
    outbox = outbox.filter(function (item) { return !seen[item.id]; });
    outbox.forEach(function (item) {
      item.node = addMessage("user pending", item.text);
      transmit(item);
    });
  }

  // Cuts the text to the server's limit, saying so: never silently.
  function enforceLimit() {
    if (!maxChars) return;
    var chars = Array.from(input.value);
    if (chars.length <= maxChars) return;
    input.value = chars.slice(0, maxChars).join("");
    setStatus("cut", { max: number(maxChars) }, "notice");
  }

  function cooldown(seconds) {
    clearInterval(cooldownTimer);
    cooldownUntil = Date.now() + Math.max(1, seconds) * 1000;
    function tick() {
      var left = Math.ceil((cooldownUntil - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(cooldownTimer);
        cooldownTimer = null;
        cooldownUntil = 0;
        if (shown.key === "rate_limited") setStatus("");
      } else {
        setStatus("rate_limited", { n: left }, "error");
      }
      updateSend();
    }
    tick();
    cooldownTimer = setInterval(tick, 1000);
  }

  // Socket -----------------------------------------------------------------------------

  function socketUrl() {
    var scheme = SRC.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + SRC.host + "/ws/widget/" + encodeURIComponent(KEY) + "/";
    var token = stored(STORE);
    return token ? url + "?token=" + encodeURIComponent(token) : url;
  }

  function connect() {
    setStatus(attempts ? "reconnecting" : "connecting");
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
      isReady = false;
      updateSend();
      if (REFUSED[event.code]) return; // the error frame already said why
      var delay = Math.min(30000, 1000 * Math.pow(2, attempts)) + Math.random() * 500;
      attempts += 1;
      setStatus("offline", null, "error");
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
      stored(STORE, frame.token);
      var config = frame.config || {};
      language = supported(config.language) || language;
      formality = config.formality === "informal" ? "informal" : "formal";
      stored(LANGUAGE_STORE, language + ":" + formality);
      if (/^#[0-9a-fA-F]{6}$/.test(config.color || "")) host.style.setProperty("--accent", config.color);
      tenantTitle = config.title || "";
      greeting = config.greeting || t("greeting");
      maxChars = config.max_chars || 0;
      isReady = true;
      setStatus("");
      applyStrings();
      enforceLimit();
      updateSend();
      render(frame.history || [], frame.advisor || "");
      clearInterval(pingTimer);
      pingTimer = setInterval(function () {
        if (socket.readyState === WebSocket.OPEN) socket.send('{"type":"ping"}');
      }, 25000);
    },
    ack: function (frame) {
      var pressed = accepting[frame.id];
      if (pressed) {
        delete accepting[frame.id];
        pressed.node.classList.remove("pending");
        pressed.button.textContent = t("quote_pressed"); // the reply in the chat says the result
        return;
      }
      outbox = outbox.filter(function (item) {
        if (item.id !== frame.id) return true;
        item.node.classList.remove("pending");
        return false;
      });
    },
    typing: function (frame) {
      if (frame.active === false) {
        if (frame.turn) endedTurns[frame.turn] = true;
        showTyping(false);
      } else if (!(frame.turn && endedTurns[frame.turn]) && !streaming) {
        showTyping(true);
      }
    },
    token: function (frame) {
      showTyping(false);
      if (!streaming) {
        speaker("assistant");
        streaming = addMessage("assistant", "");
      }
      var body = streaming.querySelector(".body");
      body.textContent += frame.text;
      scrollDown();
    },
    message: function (frame) {
      showTyping(false);
      var role = frame.role === "agent" ? "agent" : "assistant";
      var node = streaming;
      if (frame.quote) { // delivered whole, never streamed
        speaker(role, frame.author);
        addMessage(role, frame.text, null, role === "agent" ? frame.author : "", frame.quote);
        scrollDown();
        return;
      }
      if (!node || role === "agent") {
        speaker(role, frame.author);
        node = addMessage(role, "", null, role === "agent" ? frame.author : "");
      }
      setBody(node, frame.text); // the stored reply is the authority
      streaming = null;
      scrollDown();
    },
    advisor: function (frame) {
      speaker("agent", frame.name);
    },
    error: function (frame) {
      if (frame.code === "rate_limited") {
        cooldown(Number(frame.retry_after) || 1);
      } else {
        var key = ERROR_KEYS[frame.code] ? frame.code : "error";
        setStatus(key, { max: number(frame.max_chars || maxChars) }, "error");
      }
      if (!frame.id) return;
      var pressed = accepting[frame.id];
      if (pressed) {
        delete accepting[frame.id];
        pressed.node.classList.remove("pending");
        pressed.node.classList.add("failed");
        pressed.node.title = t("failed");
        // Refused for this quote: it stays off; rate limited: it can be pressed again.
        var again = frame.code === "rate_limited";
        pressed.button.disabled = !again;
        pressed.button.textContent = t(again ? "quote_accept" : "quote_closed");
        return;
      }
      outbox = outbox.filter(function (item) {
        if (item.id !== frame.id) return true;
        item.node.classList.remove("pending");
        item.node.classList.add("failed");
        item.node.title = t("failed");
        if (!input.value) input.value = item.text; // to send again
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
  input.addEventListener("input", enforceLimit);
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
    applyStrings();
    document.body.appendChild(host);
    updateSend();
    connect();
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
