/* Tanso public price page: the chart (TradingView lightweight-charts, if installed) and live
 * updates from the WebSocket stream /v1/stream (docs/stream.md), falling back to polling
 * /v1/market/trades where there is no stream (or with ?live=poll). Plain JavaScript, no build
 * step. The server has already rendered every number; this script only keeps them current.
 * Prices are integer yen; nothing here names a participant. See docs/public-page.md. */
(function () {
  "use strict";

  var POLL_MS = 3000;
  var INDEX_MS = 60000;
  var MAX_TRADE_ROWS = 15;
  var JST_MS = 9 * 3600 * 1000;

  var data = JSON.parse(document.getElementById("market-data").textContent);
  var T = data.labels;
  var lang = data.lang;
  var locale = lang === "ja" ? "ja-JP" : "en-US";
  var yenFormat = new Intl.NumberFormat(locale);

  var state = {
    selected: data.selected,
    // the journal sequence of the newest entry applied: the stream's `since` and the poll's cursor
    lastSeq: data.last_seq || 0,
    seen: new Set(data.seen_trades || []),
    instruments: {},
    bars: data.bars || [],
    chart: null,
    candles: null,
    volume: null,
    mode: "off",
    socket: null,
    pollTimer: null,
    retry: 0
  };
  (data.instruments || []).forEach(function (i) { state.instruments[i.id] = i; });
  window.tansoPage = { state: state }; // read by the browser test and handy when debugging

  // ------------------------------------------------------------------ formatting

  function yen(v) { return "¥" + yenFormat.format(v); }
  function num(v) { return yenFormat.format(v); }
  function isoAt(at) { return String(at).replace(/(\.\d{3})\d+/, "$1"); }
  function jstDate(at) {
    return new Date(Date.parse(isoAt(at)) + JST_MS).toISOString().slice(0, 10);
  }
  function jstTime(at) {
    var s = new Date(Date.parse(isoAt(at)) + JST_MS).toISOString();
    return s.slice(0, 10) + " " + s.slice(11, 16);
  }
  function signed(v) { return (v > 0 ? "+" : "") + num(v); }
  function percent(change, base) {
    var p = Math.round((change * 10000) / base) / 100;
    return (p > 0 ? "+" : "") + p.toFixed(2) + "%";
  }
  function flash(el) {
    if (!el) return;
    el.classList.remove("flash");
    void el.offsetWidth; // restart the animation
    el.classList.add("flash");
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ------------------------------------------------------------------ the chart

  function initChart() {
    var box = document.getElementById("chart-container");
    if (!box) return;
    if (!window.LightweightCharts) {
      if (!box.querySelector(".chart-unavailable")) {
        box.appendChild(el("p", { "class": "chart-unavailable" }, T.charts_unavailable));
      }
      return;
    }
    var LC = window.LightweightCharts;
    state.chart = LC.createChart(box, {
      autoSize: true,
      // the library's own logo would add a <style> element, which the CSP refuses: the page
      // names TradingView under the chart instead (.chart-credit), as its licence asks
      layout: {
        background: { color: "#ffffff" }, textColor: "#1b1f23", fontSize: 12,
        attributionLogo: false
      },
      grid: { vertLines: { color: "#eef1f4" }, horzLines: { color: "#eef1f4" } },
      rightPriceScale: { scaleMargins: { top: 0.08, bottom: 0.28 } },
      timeScale: { borderColor: "#d0d7de" },
      localization: { locale: locale, priceFormatter: function (p) { return yen(Math.round(p)); } }
    });
    state.candles = state.chart.addSeries(LC.CandlestickSeries, {
      upColor: "#1a7f37", downColor: "#cf222e", borderVisible: false,
      wickUpColor: "#1a7f37", wickDownColor: "#cf222e",
      priceFormat: { type: "price", precision: 0, minMove: 1 }
    });
    state.volume = state.chart.addSeries(LC.HistogramSeries, {
      priceScaleId: "volume", priceFormat: { type: "volume" }, lastValueVisible: false,
      priceLineVisible: false
    });
    state.chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
    drawBars();
  }

  function volumeBar(b) {
    return { time: b.start, value: b.volume, color: b.close >= b.open ? "#8fd1a3" : "#f1a7ad" };
  }

  function drawBars() {
    if (!state.candles) return;
    state.candles.setData(state.bars.map(function (b) {
      return { time: b.start, open: b.open, high: b.high, low: b.low, close: b.close };
    }));
    state.volume.setData(state.bars.map(volumeBar));
    state.chart.timeScale().fitContent();
  }

  /** Fold one trade into the selected instrument's last daily bar (or start a new one). */
  function chartTrade(price, quantity, day) {
    var last = state.bars[state.bars.length - 1];
    var bar;
    if (last && last.start === day) {
      bar = last;
      bar.high = Math.max(bar.high, price);
      bar.low = Math.min(bar.low, price);
      bar.close = price;
      bar.volume += quantity;
      bar.value = (bar.value || 0) + price * quantity;
      bar.trades = (bar.trades || 0) + 1;
    } else if (!last || last.start < day) {
      bar = { start: day, open: price, high: price, low: price, close: price, volume: quantity,
        value: price * quantity, trades: 1 };
      state.bars.push(bar);
    } else {
      return; // an old trade: the bars from the server already hold it
    }
    // VWAP rounded half up to the yen, as the server computes it
    bar.vwap = Math.floor((2 * bar.value + bar.volume) / (2 * bar.volume));
    renderBarTable(state.bars);
    if (state.candles) {
      state.candles.update({ time: bar.start, open: bar.open, high: bar.high, low: bar.low,
        close: bar.close });
      state.volume.update(volumeBar(bar));
    }
  }

  function selectInstrument(id, push) {
    var info = state.instruments[id];
    if (!info) return;
    state.selected = id;
    document.querySelectorAll("#instruments tbody tr").forEach(function (tr) {
      var on = tr.getAttribute("data-instrument") === id;
      tr.classList.toggle("selected", on);
      if (on) tr.setAttribute("aria-current", "true"); else tr.removeAttribute("aria-current");
    });
    document.getElementById("chart-name").textContent = info.name;
    document.getElementById("chart-code").textContent = id;
    var box = document.getElementById("chart-container");
    box.setAttribute("aria-label", box.getAttribute("aria-label").split(":")[0] + ": " + info.name);
    if (push) history.replaceState(null, "", "?instrument=" + encodeURIComponent(id) + "#chart");
    document.querySelectorAll(".lang-switch a").forEach(function (a) {
      a.setAttribute("href", "/" + a.getAttribute("data-lang") + "?instrument=" +
        encodeURIComponent(id));
    });
    fetch("/v1/market/bars?interval=1d&limit=400&instrument=" + encodeURIComponent(id))
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (bars) {
        if (state.selected !== id) return;
        state.bars = bars;
        drawBars();
        renderBarTable(bars);
      })
      .catch(function () { /* the chart keeps what it has */ });
  }

  function renderBarTable(bars) {
    var tbody = document.querySelector("#bars tbody");
    if (!tbody) return;
    tbody.textContent = "";
    bars.slice(-10).reverse().forEach(function (b) {
      var tr = el("tr");
      tr.appendChild(el("th", { scope: "row" }, b.start));
      [yen(b.open), yen(b.high), yen(b.low), yen(b.close), num(b.volume),
        b.vwap !== undefined ? yen(b.vwap) : "", b.trades !== undefined ? num(b.trades) : ""]
        .forEach(function (v) { tr.appendChild(el("td", { "class": "num" }, v)); });
      tbody.appendChild(tr);
    });
  }

  // ------------------------------------------------------------------ live updates

  function cell(row, field) { return row && row.querySelector('[data-field="' + field + '"]'); }

  /** A trade: the instrument's last price, change and volume, the chart, the trades table. */
  function applyTrade(t) {
    if (t.id !== undefined) {
      if (state.seen.has(t.id)) return;
      state.seen.add(t.id);
    }
    var info = state.instruments[t.instrument];
    var day = jstDate(t.at);
    if (info) {
      if (info.day && day < info.day) return;
      if (info.day !== day) { // a new trading day: yesterday's close is the base of the change
        if (info.last !== null && info.last !== undefined) info.prev_close = info.last;
        info.day = day;
        info.volume = 0;
      }
      info.last = t.price;
      info.volume = (info.volume || 0) + t.quantity;
      var row = document.querySelector('#instruments tr[data-instrument="' + t.instrument + '"]');
      if (row) {
        cell(row, "last").textContent = yen(t.price);
        cell(row, "volume").textContent = num(info.volume);
        cell(row, "day").textContent = day;
        var ch = cell(row, "change");
        if (info.prev_close) {
          var change = t.price - info.prev_close;
          ch.textContent = signed(change) + " ";
          ch.appendChild(el("small", {}, "(" + percent(change, info.prev_close) + ")"));
          ch.classList.toggle("up", change > 0);
          ch.classList.toggle("down", change < 0);
        }
        flash(row);
      }
    }
    if (t.instrument === state.selected) chartTrade(t.price, t.quantity, day);
    addTradeRow(t, info);
  }

  function addTradeRow(t, info) {
    var tbody = document.querySelector("#trades tbody");
    if (!tbody) return;
    var empty = tbody.querySelector("tr.empty");
    if (empty) empty.remove();
    var tr = el("tr", { "data-trade": t.id || "" });
    var time = el("time", { datetime: t.at, title: jstTime(t.at) }, jstTime(t.at).slice(5));
    tr.appendChild(el("td", { "class": "nowrap" })).appendChild(time);
    tr.appendChild(el("th", { scope: "row" }, info ? info.name : t.instrument));
    tr.appendChild(el("td", { "class": "num" }, yen(t.price)));
    tr.appendChild(el("td", { "class": "num" }, num(t.quantity)));
    tbody.insertBefore(tr, tbody.firstChild);
    flash(tr);
    while (tbody.rows.length > MAX_TRADE_ROWS) tbody.deleteRow(tbody.rows.length - 1);
  }

  /** A trade the exchange operator busted: struck through in the trades table. */
  function markBusted(b) {
    var row = document.querySelector('#trades tr[data-trade="' + b.id + '"]');
    if (!row || row.classList.contains("busted")) return;
    row.classList.add("busted");
    row.cells[1].appendChild(document.createTextNode(" "));
    row.cells[1].appendChild(el("span", { "class": "tag" }, T.busted));
    [2, 3].forEach(function (i) {
      var s = el("s", {}, row.cells[i].textContent);
      row.cells[i].textContent = "";
      row.cells[i].appendChild(s);
    });
  }

  /** A call auction result: price and volume, or no trade. */
  function applyAuction(a) {
    var row = document.querySelector('#auctions tr[data-instrument="' + a.instrument + '"]');
    if (!row) return;
    if (row.getAttribute("data-at") === a.at) return;
    row.setAttribute("data-at", a.at);
    while (row.cells.length > 1) row.deleteCell(1);
    row.appendChild(el("td", { "data-field": "at", "class": "nowrap" }, jstTime(a.at)));
    var price = el("td", { "class": "num", "data-field": "price" });
    if (a.price !== null && a.price !== undefined && a.volume) price.textContent = yen(a.price);
    else price.appendChild(el("span", { "class": "muted" }, T.no_trade));
    row.appendChild(price);
    row.appendChild(el("td", { "class": "num", "data-field": "volume" }, num(a.volume || 0)));
    flash(row);
  }

  /** A bar from the stream (if it sends them) replaces the chart's bar of that day. */
  function applyBar(b) {
    var info = state.instruments[b.instrument];
    if (info && info.day === b.start && (!b.interval || b.interval === "1d")) {
      info.volume = b.volume;
      var row = document.querySelector('#instruments tr[data-instrument="' + b.instrument + '"]');
      if (cell(row, "volume")) cell(row, "volume").textContent = num(b.volume);
    }
    if (b.instrument !== state.selected || (b.interval && b.interval !== "1d") || !b.start) return;
    var last = state.bars[state.bars.length - 1];
    if (last && last.start === b.start) state.bars[state.bars.length - 1] = b;
    else if (!last || last.start < b.start) state.bars.push(b);
    else return;
    if (state.candles) {
      state.candles.update({ time: b.start, open: b.open, high: b.high, low: b.low,
        close: b.close });
      state.volume.update(volumeBar(b));
    }
  }

  function setStatus(mode, text) {
    state.mode = mode;
    var s = document.getElementById("live-status");
    s.setAttribute("data-mode", mode);
    s.textContent = text;
  }

  function stamp() {
    var s = document.getElementById("live-status");
    s.title = T.updated + " " + new Date().toLocaleTimeString(locale);
  }

  // polling: trades after the last sequence number the page has, oldest first
  function poll() {
    if (document.hidden && state.mode === "polling") return Promise.resolve();
    var trades = fetch("/v1/market/trades?limit=200")
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (rows) {
        rows.filter(function (t) { return t.seq > state.lastSeq; })
          .sort(function (a, b) { return a.seq - b.seq || (a.id < b.id ? -1 : 1); })
          .forEach(function (t) {
            applyTrade(t);
            if (t.seq > state.lastSeq) state.lastSeq = t.seq;
          });
      });
    var auctions = fetch("/v1/market/auctions?limit=100")
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (rows) {
        var latest = {};
        rows.forEach(function (a) { if (!latest[a.instrument]) latest[a.instrument] = a; });
        Object.keys(latest).forEach(function (k) {
          applyAuction(latest[k]);
        });
      });
    return Promise.all([trades, auctions]).then(stamp);
  }

  function startPolling() {
    if (state.pollTimer) return;
    setStatus("polling", T.live_polling.replace("{s}", String(POLL_MS / 1000)));
    var tick = function () {
      poll().then(function () {
        if (state.mode !== "polling") return;
        setStatus("polling", T.live_polling.replace("{s}", String(POLL_MS / 1000)));
      }, function () {
        setStatus("error", T.live_error);
        state.mode = "polling";
      });
    };
    state.pollTimer = setInterval(tick, POLL_MS);
    tick();
  }

  function stopPolling() {
    if (state.pollTimer) clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  function applySession(e) {
    var row = document.querySelector('#instruments tr[data-instrument="' + e.instrument + '"]');
    var c = cell(row, "state");
    if (c) c.textContent = T["state_" + e.state] || e.state;
  }

  function onMessage(msg) {
    // bars (and book depth) are live extras computed after a commit, never a resend
    var live = (msg.events || []).every(function (e) { return e.channel === "bars"; });
    if (!live && typeof msg.seq === "number" && msg.seq <= state.lastSeq) return; // seen
    (msg.events || []).forEach(function (e) {
      if (e.channel === "trades" && e.type === "trade_busted") markBusted(e);
      else if (e.channel === "trades") applyTrade(e);
      else if (e.channel === "auctions") applyAuction(e);
      else if (e.channel === "bars") applyBar(e);
      else if (e.channel === "sessions") applySession(e);
    });
    if ((msg.events || []).some(function (e) { return e.channel === "index"; })) loadIndices();
    if (typeof msg.seq === "number" && !live) state.lastSeq = msg.seq;
    stamp();
  }

  // the stream: subscribe to every instrument's trades, auction results and bars
  function connectStream() {
    if (!("WebSocket" in window) || /[?&]live=poll\b/.test(location.search)) {
      startPolling();
      return;
    }
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var opened = false;
    var refused = false;
    var ws;
    try {
      ws = new WebSocket(proto + "//" + location.host + "/v1/stream");
    } catch (e) {
      startPolling();
      return;
    }
    state.socket = ws;
    ws.onopen = function () {
      opened = true;
      state.retry = 0;
      // `since`: the stream resends whatever the page has not seen, in order, exactly once
      ws.send(JSON.stringify({
        op: "subscribe", instruments: ["*"],
        channels: ["trades", "auctions", "bars", "sessions", "index"], since: state.lastSeq
      }));
      stopPolling();
      setStatus("stream", T.live_stream);
    };
    ws.onmessage = function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg && msg.events) onMessage(msg);
      else if (msg && msg.error) { // the subscription was refused: poll instead
        refused = true;
        ws.close();
      }
    };
    ws.onclose = function () {
      state.socket = null;
      startPolling(); // never leave the page without updates
      if (!opened || refused) return; // no stream on this server: polling it is
      state.retry = Math.min(state.retry + 1, 6);
      setTimeout(connectStream, 1000 * Math.pow(2, state.retry));
    };
    ws.onerror = function () { /* onclose follows */ };
  }

  // ------------------------------------------------------------------ indices

  function loadIndices() {
    var box = document.getElementById("indices");
    if (!box) return;
    fetch("/v1/market/indices")
      .then(function (r) {
        if (r.status === 404) return null;
        if (!r.ok) throw new Error(r.status);
        return r.json();
      })
      .then(function (body) {
        var list = Array.isArray(body) ? body : (body && (body.indices || body.items)) || [];
        box.textContent = "";
        if (!list.length) { box.appendChild(el("p", { "class": "muted" }, T.indices_none)); return; }
        var wrap = el("div", { "class": "table-wrap" });
        var table = el("table", { "class": "prices", id: "indices-table" });
        var head = el("tr");
        [T.index, T.value, T.rule, T.date].forEach(function (h, i) {
          head.appendChild(el("th", { scope: "col", "class": i === 1 ? "num" : "" }, h));
        });
        table.appendChild(el("thead")).appendChild(head);
        var tbody = table.appendChild(el("tbody"));
        list.forEach(function (x) {
          var tr = el("tr");
          var name = (lang === "ja" ? x.name_ja : x.name_en) || x.name || x.id || x.index || "";
          tr.appendChild(el("th", { scope: "row" }, name));
          var v = x.value;
          tr.appendChild(el("td", { "class": "num" },
            v === null || v === undefined ? "—" : (typeof v === "number" ? yen(v) : String(v))));
          tr.appendChild(el("td", {}, T["rule_" + x.rule] || x.rule || ""));
          tr.appendChild(el("td", { "class": "nowrap" }, x.date || ""));
          tbody.appendChild(tr);
        });
        wrap.appendChild(table);
        box.appendChild(wrap);
      })
      .catch(function () { /* keep the link to the JSON */ });
  }

  // ------------------------------------------------------------------ start

  document.querySelectorAll("a.chart-link").forEach(function (a) {
    a.addEventListener("click", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
      ev.preventDefault();
      selectInstrument(a.getAttribute("data-instrument"), true);
      document.getElementById("chart").scrollIntoView({ block: "start" });
      document.getElementById("h-chart").setAttribute("tabindex", "-1");
      document.getElementById("h-chart").focus({ preventScroll: true });
    });
  });
  try { initChart(); } catch (e) {
    var box = document.getElementById("chart-container");
    box.appendChild(el("p", { "class": "chart-unavailable" }, T.charts_unavailable));
  }
  setStatus("connecting", T.live_connecting);
  loadIndices();
  setInterval(loadIndices, INDEX_MS);
  connectStream();
})();
