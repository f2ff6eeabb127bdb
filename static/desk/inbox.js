/* The conversations inbox of the sales desk: keeps the list current without a reload, and
   shows browser notifications of new and flagged conversations when the member allows them.

   #desk-inbox names the inbox socket (data-ws-path, the desk's /ws/desk/inbox/,
   authenticated by the admin session; empty for operators) and carries the words the
   script shows (data-label-*, data-text-*, translated by the page). A socket frame
   {"type": "conversation", "event", "notify", "conversation": {id, title, body, url,
   unread}} says that a conversation of the member's tenant changed: the list is fetched
   again (the same URL: its filters, search, order and page) and merged into the page row
   by row, so the rows' checkboxes keep their state; new rows and changed ones are marked.
   Notices that come together are merged into one fetch.

   With "notify" true (a new conversation, a flag, a handoff request the member did not
   cause) and the permission granted, a Notification names the contact, the channel and
   the reason or the last message; clicking it opens the conversation.

   Fallback: without a socket (operators, or while reconnecting) the list is fetched every
   little while; while the page is visible it is also fetched every minute, so "3 min ago"
   stays true. */
(function () {
  "use strict";

  var GATHER_MS = 300;
  var POLL_MS = 30000;
  var TICK_MS = 60000;
  var MAX_BACKOFF_MS = 30000;

  function start(box) {
    var data = box.dataset;
    var status = box.querySelector(".desk-live-status");
    var button = document.getElementById("desk-notify");
    var socket = null;
    var backoff = 1000;
    var pending = null;
    var fetching = false;
    var again = false;

    function say(text) {
      if (status && text) { status.textContent = text; }
    }

    // ---- the list --------------------------------------------------------------------

    function rowKey(tr) {
      var check = tr.querySelector("input.action-select");
      if (check) { return "id:" + check.value; }
      var link = tr.querySelector("a[href]");
      return link ? "href:" + link.getAttribute("href") : "";
    }

    function copyChildren(target, source) {
      var nodes = [];
      for (var i = 0; i < source.childNodes.length; i += 1) {
        nodes.push(document.importNode(source.childNodes[i], true));
      }
      target.replaceChildren.apply(target, nodes);
    }

    function syncRow(tr, fresh) {
      var changed = false;
      for (var i = 0; i < fresh.cells.length && i < tr.cells.length; i += 1) {
        var cell = tr.cells[i];
        if (cell.querySelector("input.action-select")) { continue; }
        if (cell.innerHTML !== fresh.cells[i].innerHTML) {
          copyChildren(cell, fresh.cells[i]);
          changed = true;
        }
      }
      return changed;
    }

    function merge(tbody, freshBody) {
      var old = {};
      Array.prototype.forEach.call(tbody.rows, function (tr) {
        tr.classList.remove("desk-new", "desk-changed");
        old[rowKey(tr)] = tr;
      });
      var rows = [];
      Array.prototype.forEach.call(freshBody.rows, function (fresh) {
        var key = rowKey(fresh);
        var tr = old[key];
        if (tr) {
          delete old[key];
          if (syncRow(tr, fresh)) { tr.classList.add("desk-changed"); }
        } else {
          tr = document.importNode(fresh, true);
          tr.classList.add("desk-new");
        }
        rows.push(tr);
      });
      tbody.replaceChildren.apply(tbody, rows);
    }

    function apply(html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var freshBody = doc.querySelector("#result_list tbody");
      var tbody = box.querySelector("#result_list tbody");
      if (tbody && freshBody) {
        merge(tbody, freshBody);
      } else {
        // The list was or became empty: take the fresh results whole.
        var results = box.querySelector(".desk-inbox-results");
        var freshResults = doc.querySelector("#desk-inbox .desk-inbox-results");
        if (results && freshResults) { copyChildren(results, freshResults); }
      }
      var paginator = document.querySelector("#changelist-form .paginator");
      var freshPaginator = doc.querySelector("#changelist-form .paginator");
      if (paginator && freshPaginator) { copyChildren(paginator, freshPaginator); }
    }

    function refresh() {
      if (fetching) { again = true; return; }
      fetching = true;
      fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.text();
        })
        .then(apply)
        .catch(function () { /* the next notice or round tries again */ })
        .then(function () {
          fetching = false;
          if (again) { again = false; soon(); }
        });
    }

    function soon() {
      if (pending) { return; }
      pending = window.setTimeout(function () {
        pending = null;
        refresh();
      }, GATHER_MS);
    }

    // ---- notifications ---------------------------------------------------------------

    var canNotify = "Notification" in window;

    function showButton() {
      if (!button || !canNotify) { return; }
      var permission = window.Notification.permission;
      button.hidden = false;
      button.disabled = permission !== "default";
      button.textContent = permission === "granted" ? data.labelOn
        : (permission === "denied" ? data.labelBlocked : data.labelAsk);
    }

    function askPermission() {
      var asked = window.Notification.requestPermission(showButton);
      if (asked && typeof asked.then === "function") { asked.then(showButton); }
    }

    function notify(item) {
      if (!canNotify || window.Notification.permission !== "granted") { return; }
      try {
        var shown = new window.Notification(item.title, {
          body: item.body,
          tag: "desk-conversation-" + item.id
        });
        shown.onclick = function () {
          window.focus();
          window.location.href = item.url;
        };
      } catch (error) { /* e.g. a browser that only notifies from a service worker */ }
    }

    if (button && canNotify) {
      button.addEventListener("click", askPermission);
      showButton();
    }

    // ---- the socket ------------------------------------------------------------------

    function live() {
      return socket && socket.readyState === WebSocket.OPEN;
    }

    function connect() {
      if (!data.wsPath || !("WebSocket" in window)) {
        say(data.textPolling);
        return;
      }
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + window.location.host + data.wsPath);
      socket.addEventListener("open", function () {
        backoff = 1000;
        say(data.textLive);
        box.setAttribute("data-live", "yes");
        soon(); // what changed while the socket was down
      });
      socket.addEventListener("message", function (event) {
        var frame;
        try { frame = JSON.parse(event.data); } catch (error) { return; }
        if (!frame || frame.type !== "conversation" || !frame.conversation) { return; }
        soon();
        if (frame.notify) { notify(frame.conversation); }
      });
      socket.addEventListener("close", function () {
        socket = null;
        box.setAttribute("data-live", "no");
        say(data.textReconnecting);
        window.setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      });
    }

    window.setInterval(function () {
      if (!live()) { refresh(); }
    }, POLL_MS);
    window.setInterval(function () {
      if (document.visibilityState === "visible") { refresh(); }
    }, TICK_MS);
    connect();
  }

  function init() {
    var box = document.getElementById("desk-inbox");
    if (box) { start(box); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
