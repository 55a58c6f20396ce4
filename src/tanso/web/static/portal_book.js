/* Live book depth on the portal's orders screen: subscribes to the book channel of the
 * instruments shown (WebSocket /portal/stream, the /v1/stream protocol with the session
 * cookie for a key) and redraws each depth table. Without JavaScript, or without a stream,
 * the server-rendered tables stay as they are. */
(function () {
  "use strict";
  var section = document.getElementById("books");
  if (!section || !("WebSocket" in window)) return;
  var books = {};
  Array.prototype.forEach.call(section.querySelectorAll(".book[data-instrument]"), function (b) {
    books[b.getAttribute("data-instrument")] = b;
  });
  var instruments = Object.keys(books);
  if (!instruments.length) return;
  var retry = 0;

  function num(v) { return Number(v).toLocaleString("en-US"); }

  function cell(text) {
    var td = document.createElement("td");
    if (text !== "") { td.className = "num"; td.textContent = text; }
    return td;
  }

  function redraw(e) {
    var box = books[e.instrument];
    var body = box && box.querySelector("tbody");
    if (!body) return;
    // one price ladder, highest price first: offers down to the best, bids down from the best;
    // while a call auction takes orders the sides may overlap, and a price quoted on both
    // sides is one row (as the server renders it)
    var levels = {};
    (e.bids || []).slice(0, 5).forEach(function (b) {
      levels[b.price] = levels[b.price] || {};
      levels[b.price].bid = b.quantity;
    });
    (e.asks || []).slice(0, 5).forEach(function (a) {
      levels[a.price] = levels[a.price] || {};
      levels[a.price].ask = a.quantity;
    });
    var rows = Object.keys(levels).map(Number).sort(function (x, y) { return y - x; })
      .map(function (p) {
        var lv = levels[p];
        return [cell(lv.bid ? num(lv.bid) : ""), cell(num(p)), cell(lv.ask ? num(lv.ask) : "")];
      });

    body.textContent = "";
    rows.forEach(function (cells) {
      var tr = document.createElement("tr");
      cells.forEach(function (td) { tr.appendChild(td); });
      body.appendChild(tr);
    });
    if (!rows.length) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.colSpan = 3;
      td.className = "muted";
      td.textContent = box.getAttribute("data-empty") || "";
      tr.appendChild(td);
      body.appendChild(tr);
    }
    var note = box.querySelector(".indicative");
    if (note) { // 試算値: the price a call auction held now would trade at
      var known = e.indicative_price !== null && e.indicative_price !== undefined;
      note.hidden = !known;
      note.querySelector(".indicative-value").textContent = known
        ? "¥" + num(e.indicative_price) + " × " + num(e.indicative_volume) : "";
    }
    box.classList.remove("flash");

    void box.offsetWidth; // restart the highlight
    box.classList.add("flash");
  }

  function connect() {
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var ws;
    try { ws = new WebSocket(proto + "//" + location.host + "/portal/stream"); } catch (e) { return; }
    ws.onopen = function () {
      ws.send(JSON.stringify({ op: "subscribe", instruments: instruments, channels: ["book"] }));
    };
    ws.onmessage = function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (!msg) return;
      if (msg.type === "subscribed") {
        retry = 0;
        section.setAttribute("data-live", "on");
      } else if (msg.error) {
        ws.close();
      } else if (msg.events) {
        msg.events.forEach(function (e) { if (e.channel === "book") redraw(e); });
      }
    };
    ws.onclose = function (ev) {
      section.setAttribute("data-live", "off");
      if (ev.code === 4401 || retry >= 6) return; // logged out, or the server has no stream
      retry += 1;
      setTimeout(connect, 1000 * Math.pow(2, retry));
    };
  }
  connect();
})();
