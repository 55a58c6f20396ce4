/* Tanso public price page: the chart (TradingView lightweight-charts, if installed) and live
 * updates from the WebSocket stream /v1/stream (docs/stream.md), falling back to polling
 * /v1/market/trades where there is no stream (or with ?live=poll). Plain JavaScript, no build
 * step. The server has already rendered every number; this script only keeps them current,
 * draws the index chart and moves both charts' time ranges and zoom without a reload.
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

  var DAY_MS = 86400000;
  var ALL_BARS = 5000; // the API's limit: "All" and a newly chosen instrument load this many
  var ROWS = data.rows_per_page || 20;

  var state = {
    selected: data.selected,
    range: data.range,
    page: data.page || 1,
    moreBars: !!data.more_bars,
    index: data.index,
    indexRange: data.index_range,
    indexPoints: data.index_points || [],
    moreIndex: !!data.more_index,
    indexChart: null,
    indexLine: null,
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
    watchRange(state.chart, box);
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
    showRange(state.chart, state.bars.map(function (b) { return b.start; }), state.range);
  }

  // ------------------------------------------------------------------ time ranges and zoom

  /** The first day of a range ending on `latest` (as the server computes it); null for ALL. */
  function rangeStart(latest, key) {
    var months = (data.range_months || {})[key];
    if (!latest || !months) return null;
    var y = +latest.slice(0, 4), m = +latest.slice(5, 7), d = +latest.slice(8, 10);
    var total = y * 12 + (m - 1) - months;
    var yy = Math.floor(total / 12), mm = total % 12; // mm: 0-based month
    var last = new Date(Date.UTC(yy, mm + 1, 0)).getUTCDate();
    return new Date(Date.UTC(yy, mm, Math.min(d, last)) + DAY_MS).toISOString().slice(0, 10);
  }

  /** Show the days of `times` (oldest first) within the range, with the latest on the right. */
  function showRange(chart, times, key) {
    if (!chart) return;
    var start = rangeStart(times[times.length - 1], key);
    var first = start === null ? 0 : times.findIndex(function (t) { return t >= start; });
    if (first <= 0) { chart.timeScale().fitContent(); return; }
    chart.timeScale().setVisibleLogicalRange({ from: first - 0.5, to: times.length - 0.5 });
  }

  /** What a chart shows, on its container once the chart has applied it (the library applies
   * a new range at its next frame): the first day's position and how many days, for tests. */
  function watchRange(chart, box) {
    chart.timeScale().subscribeVisibleLogicalRangeChange(function (r) {
      if (!r) return;
      // the days mostly in view (day i spans the logical positions i - 0.5 to i + 0.5)
      var from = Math.max(0, Math.round(r.from + 0.01)), to = Math.round(r.to - 0.01);
      box.setAttribute("data-visible-from", String(from));
      box.setAttribute("data-visible-days", String(Math.max(0, to - from + 1)));
    });
  }

  /** Zoom in (factor < 1) or out, keeping the right edge where it is. */
  function zoom(chart, factor) {
    if (!chart) return;
    var ts = chart.timeScale();
    var r = ts.getVisibleLogicalRange();
    if (!r) return;
    var width = Math.max(4, (r.to - r.from) * factor);
    ts.setVisibleLogicalRange({ from: r.to - width, to: r.to });
  }

  /** This page's URL with the given state (the server's defaults left out, as it does). */
  function stateUrl(changes) {
    var values = { instrument: state.selected, range: state.range, page: state.page,
      index: state.index, index_range: state.indexRange };
    Object.keys(changes || {}).forEach(function (k) { values[k] = changes[k]; });
    var defaults = data.defaults || {};
    var q = new URLSearchParams();
    Object.keys(values).forEach(function (k) {
      var v = values[k];
      if (v !== null && v !== undefined && defaults[k] !== v) q.set(k, String(v));
    });
    var text = q.toString();
    return text ? "?" + text : "";
  }

  function csvHref(start, end) {
    var q = new URLSearchParams({ instrument: state.selected, interval: "1d", format: "csv",
      limit: "5000" });
    if (start) q.set("from", start);
    if (end) q.set("to", end);
    return "/v1/market/bars?" + q.toString();
  }

  /** Every link that carries the page's state: ranges, pages, languages, CSV, the index form. */
  function relink() {
    document.querySelectorAll("#chart a.range").forEach(function (a) {
      a.href = stateUrl({ range: a.getAttribute("data-range") }) + "#chart";
      if (a.getAttribute("data-range") === state.range) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    });
    document.querySelectorAll("#index-chart a.range").forEach(function (a) {
      a.href = stateUrl({ index_range: a.getAttribute("data-range") }) + "#index-chart";
      if (a.getAttribute("data-range") === state.indexRange) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    });
    document.querySelectorAll(".lang-switch a").forEach(function (a) {
      a.setAttribute("href", "/" + a.getAttribute("data-lang") + stateUrl({}));
    });
    var older = document.getElementById("page-older");
    if (older) older.href = stateUrl({ page: state.page + 1 }) + "#h-bars";
    var newer = document.getElementById("page-newer");
    if (newer) newer.href = stateUrl({ page: state.page - 1 }) + "#h-bars";
    var form = document.getElementById("index-form");
    if (form) {
      form.querySelectorAll("input[type=hidden]").forEach(function (i) { i.remove(); });
      new URLSearchParams(stateUrl({ index: null })).forEach(function (v, k) {
        form.insertBefore(el("input", { type: "hidden", name: k, value: v }), form.firstChild);
      });
    }
    var latest = state.bars.length ? state.bars[state.bars.length - 1].start : null;
    var start = rangeStart(latest, state.range);
    var csv = document.getElementById("csv-range");
    if (csv) {
      csv.href = csvHref(start, latest);
      csv.textContent = start ? T.csv_range.replace("{start}", start).replace("{end}", latest)
        : T.csv_all;
    }
    var all = document.getElementById("csv-all");
    if (all) { all.href = csvHref(null, null); all.hidden = !start; }
  }

  function remember() {
    history.replaceState(null, "", stateUrl({}) + location.hash);
  }

  /** "All" may need more than the page started with: the whole history, once. */
  function loadAllBars() {
    if (!state.moreBars) return Promise.resolve();
    var id = state.selected;
    return fetch("/v1/market/bars?interval=1d&limit=" + ALL_BARS + "&instrument=" +
      encodeURIComponent(id))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (bars) {
        if (!bars || state.selected !== id) return;
        state.moreBars = false;
        state.bars = bars;
      });
  }

  function loadAllIndex() {
    if (!state.moreIndex || !state.index) return Promise.resolve();
    var id = state.index;
    return fetch("/v1/market/indices/" + encodeURIComponent(id) + "?limit=" + ALL_BARS)
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (rows) {
        if (!rows || state.index !== id) return;
        state.moreIndex = false;
        state.indexPoints = indexPoints(rows);
      });
  }

  function setPriceRange(key) {
    state.range = key;
    (key === "ALL" ? loadAllBars() : Promise.resolve()).then(function () {
      if (state.candles) drawBars();
      relink();
      remember();
    });
  }

  function setIndexRange(key) {
    state.indexRange = key;
    (key === "ALL" ? loadAllIndex() : Promise.resolve()).then(function () {
      drawIndex();
      relink();
      remember();
    });
  }

  function wireTools(section, chartOf, setRange) {
    var box = document.getElementById(section);
    if (!box) return;
    box.querySelectorAll("a.range").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
        ev.preventDefault();
        setRange(a.getAttribute("data-range"));
      });
    });
    var tools = box.querySelector(".zoom");
    if (!tools || !chartOf()) return;
    tools.hidden = false;
    tools.querySelector(".zoom-in").addEventListener("click", function () { zoom(chartOf(), 0.5); });
    tools.querySelector(".zoom-out").addEventListener("click", function () { zoom(chartOf(), 2); });
  }

  // ------------------------------------------------------------------ the index chart

  function indexPoints(rows) {
    return rows.filter(function (x) { return x.value !== null && x.value !== undefined; })
      .map(function (x) { return { time: x.date, value: x.value }; });
  }

  function initIndexChart() {
    var box = document.getElementById("index-container");
    if (!box || !window.LightweightCharts) return;
    var LC = window.LightweightCharts;
    state.indexChart = LC.createChart(box, {
      autoSize: true,
      layout: {
        background: { color: "#ffffff" }, textColor: "#1b1f23", fontSize: 12,
        attributionLogo: false
      },
      grid: { vertLines: { color: "#eef1f4" }, horzLines: { color: "#eef1f4" } },
      timeScale: { borderColor: "#d0d7de" },
      localization: { locale: locale, priceFormatter: function (p) { return yen(Math.round(p)); } }
    });
    state.indexLine = state.indexChart.addSeries(LC.LineSeries, {
      color: "#0b5d3b", lineWidth: 2, priceFormat: { type: "price", precision: 0, minMove: 1 }
    });
    watchRange(state.indexChart, box);
    drawIndex();
  }

  function drawIndex() {
    var box = document.getElementById("index-container");
    if (!state.indexLine || !box) return;
    var empty = box.querySelector(".chart-unavailable");
    if (empty) empty.remove();
    state.indexLine.setData(state.indexPoints);
    if (!state.indexPoints.length) {
      box.appendChild(el("p", { "class": "chart-unavailable" }, T.index_no_values));
      return;
    }
    showRange(state.indexChart, state.indexPoints.map(function (x) { return x.time; }),
      state.indexRange);
  }

  function selectIndex(id) {
    var select = document.getElementById("index-select");
    var name = select ? select.options[select.selectedIndex].text : id;
    state.index = id;
    var box = document.getElementById("index-container");
    if (box) {
      box.setAttribute("aria-label", box.getAttribute("aria-label").split(":")[0] + ": " + name);
    }
    var json = document.getElementById("index-json");
    if (json) json.href = "/v1/market/indices/" + encodeURIComponent(id);
    var csv = document.getElementById("index-csv");
    if (csv) csv.href = "/v1/market/indices/" + encodeURIComponent(id) + "?format=csv&limit=5000";
    fetch("/v1/market/indices/" + encodeURIComponent(id) + "?limit=" +
      (state.indexRange === "ALL" ? ALL_BARS : 400))
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (rows) {
        if (state.index !== id) return;
        state.indexPoints = indexPoints(rows);
        state.moreIndex = state.indexRange !== "ALL" && rows.length >= 400;
        drawIndex();
        relink();
        remember();
      })
      .catch(function () { /* the chart keeps what it has */ });
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
      relink(); // the CSV's period ends on the new day
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
    state.page = 1;
    var note = document.getElementById("opened-on");
    if (note) note.remove();
    if (push) history.replaceState(null, "", stateUrl({}) + "#chart");
    relink();
    // the whole history: the table's pages are counted from it
    fetch("/v1/market/bars?interval=1d&limit=" + ALL_BARS + "&instrument=" + encodeURIComponent(id))
      .then(function (r) { return r.ok ? r.json() : []; })
      .then(function (bars) {
        if (state.selected !== id) return;
        state.bars = bars;
        state.moreBars = false;
        drawBars();
        renderBarTable(bars);
        renderPager(Math.max(1, Math.ceil(bars.length / ROWS)));
        relink();
      })
      .catch(function () { /* the chart keeps what it has */ });
  }

  /** The pager of the daily prices after the page changed instrument (page 1 of `pages`). */
  function renderPager(pages) {
    var nav = document.getElementById("bars-pager");
    if (!nav) return;
    nav.textContent = "";
    nav.appendChild(el("span", { id: "page-of", "aria-current": "page" },
      T.page_of.replace("{page}", "1").replace("{pages}", String(pages))));
    if (pages > 1) {
      nav.appendChild(document.createTextNode(" "));
      nav.appendChild(el("a", { href: stateUrl({ page: 2 }) + "#h-bars", rel: "next",
        id: "page-older" }, T.older));
    }
  }

  function renderBarTable(bars) {
    var tbody = document.querySelector("#bars tbody");
    if (!tbody) return;
    tbody.textContent = "";
    if (state.page !== 1) return; // an older page: the live day is not on it
    bars.slice(-ROWS).reverse().forEach(function (b) {
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
  try { initIndexChart(); } catch (e) { /* the indices table stays */ }
  wireTools("chart", function () { return state.chart; }, setPriceRange);
  wireTools("index-chart", function () { return state.indexChart; }, setIndexRange);
  var indexSelect = document.getElementById("index-select");
  if (indexSelect && state.indexChart) {
    indexSelect.addEventListener("change", function () { selectIndex(indexSelect.value); });
    document.getElementById("index-show").hidden = true; // the choice applies at once
  }
  setStatus("connecting", T.live_connecting);
  loadIndices();
  setInterval(loadIndices, INDEX_MS);
  connectStream();
})();
