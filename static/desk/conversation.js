/* The conversation page of the sales desk: keeps the transcript current without a reload.

   The transcript's wrapper (#desk-transcript) names the live socket (data-ws-path, the
   desk's /ws/desk/conversations/<id>/, authenticated by the admin session) and the JSON
   of its rows (data-json-url). A socket frame {"type": "message", "message": row} adds
   the row, or updates its delivery status when it is already shown.

   Fallback: while the socket is not open, and while a reply is still pending or sending,
   the rows are fetched from the JSON every few seconds; after a reconnect they are fetched
   once to fill any gap. While the bot has the conversation (data-status="active") they are
   also fetched every little while: the socket announces customer messages, not the bot's
   replies. Message text only ever goes in through textContent. */
(function () {
  "use strict";

  var POLL_MS = 4000;
  var PENDING_POLL_MS = 1500;
  var BOT_POLL_MS = 8000;
  var MAX_BACKOFF_MS = 30000;
  var UNSETTLED = { pending: true, sending: true };

  function start(box) {
    var tbody = box.querySelector("tbody");
    var status = box.querySelector(".desk-live-status");
    var jsonUrl = box.getAttribute("data-json-url");
    var wsPath = box.getAttribute("data-ws-path");
    var botHasIt = box.getAttribute("data-status") === "active";
    var socket = null;
    var backoff = 1000;
    var pollTimer = null;
    var fetching = false;

    function phrase(name, fallback) {
      // The page's language: the template puts the translated sentences in data-say-*.
      return box.getAttribute("data-say-" + name) || fallback;
    }

    function say(text) {
      if (status) { status.textContent = text; }
    }

    function cell(text, className) {
      var td = document.createElement("td");
      if (className) { td.className = className; }
      td.textContent = text;
      return td;
    }

    function fillDelivery(td, row) {
      td.textContent = row.delivery;
      if (row.error) {
        td.appendChild(document.createElement("br"));
        var error = document.createElement("span");
        error.className = "errornote";
        error.textContent = row.error;
        td.appendChild(error);
      }
    }

    function upsert(row) {
      var id = String(row.id);
      var tr = tbody.querySelector('tr[data-message-id="' + id.replace(/[^0-9]/g, "") + '"]');
      if (tr) {
        if (tr.getAttribute("data-delivery") !== row.delivery_status) {
          tr.setAttribute("data-delivery", row.delivery_status);
          fillDelivery(tr.querySelector(".desk-delivery"), row);
        }
        return false;
      }
      tr = document.createElement("tr");
      tr.className = "desk-role-" + String(row.role).replace(/[^a-z_]/g, "") + " desk-new";
      tr.setAttribute("data-message-id", id);
      tr.setAttribute("data-delivery", row.delivery_status);
      tr.appendChild(cell(row.when));
      tr.appendChild(cell(row.who));
      tr.appendChild(cell(row.channel));
      var delivery = cell("", "desk-delivery");
      fillDelivery(delivery, row);
      tr.appendChild(delivery);
      tr.appendChild(cell(row.text, "desk-text"));
      tbody.appendChild(tr);
      var empty = box.querySelector(".desk-empty");
      if (empty) { empty.remove(); }
      return true;
    }

    function unsettled() {
      var rows = tbody.querySelectorAll("tr[data-delivery]");
      for (var i = 0; i < rows.length; i += 1) {
        if (UNSETTLED[rows[i].getAttribute("data-delivery")]) { return true; }
      }
      return false;
    }

    function refresh() {
      if (fetching) { return Promise.resolve(); }
      fetching = true;
      return fetch(jsonUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (data) {
          (data.messages || []).forEach(upsert);
          botHasIt = data.status === "active";
        })
        .catch(function () { /* next round */ })
        .then(function () { fetching = false; });
    }

    function schedulePoll() {
      if (pollTimer) { return; }
      var live = socket && socket.readyState === WebSocket.OPEN;
      var delay = !live ? POLL_MS : (unsettled() ? PENDING_POLL_MS : (botHasIt ? BOT_POLL_MS : 0));
      if (!delay) { return; }
      pollTimer = window.setTimeout(function () {
        pollTimer = null;
        refresh().then(schedulePoll);
      }, delay);
    }

    function connect() {
      if (!wsPath || !("WebSocket" in window)) {
        say(phrase("polling", "Refreshing every few seconds."));
        schedulePoll();
        return;
      }
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + window.location.host + wsPath);
      socket.addEventListener("open", function () {
        backoff = 1000;
        say(phrase("live", "Live: new messages appear here as they arrive."));
        refresh().then(schedulePoll);
      });
      socket.addEventListener("message", function (event) {
        var frame;
        try { frame = JSON.parse(event.data); } catch (error) { return; }
        if (frame && frame.type === "message" && frame.message) {
          upsert(frame.message);
          schedulePoll();
        }
      });
      socket.addEventListener("close", function () {
        socket = null;
        say(phrase("reconnecting", "Reconnecting… (refreshing every few seconds meanwhile)"));
        schedulePoll();
        window.setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      });
    }

    connect();
    schedulePoll();
  }

  function init() {
    var box = document.getElementById("desk-transcript");
    if (box && box.getAttribute("data-json-url")) { start(box); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
