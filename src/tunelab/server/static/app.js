// tunelab dashboard: plain JavaScript, no libraries, no build step.
// Reads the token from the page URL (?token=...) and sends it as "Authorization: Bearer".
// Polls GET /results?since=N every second for live updates; draws with SVG.
"use strict";

(function () {
  const charts = window.tunelabCharts;
  const fmt = charts.fmt;
  const isNum = charts.isNum;
  const compare = charts.compare;
  const MAX_POINTS = 2000; // per trial in the browser; thinned evenly beyond
  const MAX_ROWS = 1000;
  const AUTO_KEYS = new Set([
    "training_iteration", "time_total_s", "timesteps_total", "episodes_total",
    "timesteps_this_iter", "episodes_this_iter",
  ]);
  const PALETTE = [
    "#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c",
    "#0891b2", "#db2777", "#65a30d", "#4f46e5", "#b45309",
  ];

  const query = new URLSearchParams(window.location.search);
  const token = query.get("token") || window.sessionStorage.getItem("tunelab-token") || "";
  if (query.get("token")) window.sessionStorage.setItem("tunelab-token", token);

  const state = {
    meta: {},
    trials: new Map(), // id -> info (insertion order = creation order)
    order: new Map(), // id -> index (stable colours)
    series: new Map(), // id -> [metrics, ...]
    seq: 0,
    metric: null,
    metricChosen: false,
    mode: "max",
    modeChosen: false,
    xaxis: "training_iteration",
    curveChoice: "auto",
    checked: new Set(),
    sortKey: null,
    sortDir: 1,
    expFilter: "",
    expChosen: false,
    stopping: new Set(),
    metricKeys: "",
    updatedAt: null,
    connected: true,
    renderPending: false,
  };

  const $ = (id) => document.getElementById(id);

  // -- API -------------------------------------------------------------------------------
  async function api(method, path) {
    const response = await fetch(path, {
      method: method,
      headers: { Authorization: "Bearer " + token, Accept: "application/json" },
      cache: "no-store",
    });
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      const error = new Error((body && body.error) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function showMessage(text) {
    const box = $("message");
    box.textContent = text || "";
    box.hidden = !text;
  }

  async function poll() {
    let delay = 1000;
    try {
      applyMeta(await api("GET", "/experiment"));
      for (let round = 0; round < 20; round++) {
        const changes = await api("GET", "/results?since=" + state.seq);
        applyChanges(changes);
        if (!changes.more) break;
      }
      state.connected = true;
      state.updatedAt = new Date();
      showMessage("");
    } catch (err) {
      if (err.status === 401) {
        showMessage("Not authorised: open the dashboard with the URL printed when the " +
          "experiment started (it ends with ?token=...).");
        setBadge("error", "no access");
        return;
      }
      state.connected = false;
      delay = 3000;
    }
    scheduleRender();
    window.setTimeout(poll, delay);
  }

  function applyMeta(meta) {
    state.meta = meta || {};
    if (!state.modeChosen && (meta.mode === "min" || meta.mode === "max")) state.mode = meta.mode;
    if (!state.metricChosen && meta.metric) state.metric = meta.metric;
    // A results directory holds unrelated experiments whose metrics may share a name: show
    // one at a time (the newest first), each with its own metric and mode.
    const experiments = meta.experiments || [];
    if (experiments.length > 1 && !state.expChosen && !state.expFilter) {
      chooseExperiment(newestExperiment(experiments));
    }
  }

  function experimentInfo(name) {
    const info = (state.meta.experiment_info || {})[name];
    return info || {};
  }

  function newestExperiment(experiments) {
    let newest = experiments[experiments.length - 1];
    let newestStart = -Infinity;
    for (const name of experiments) {
      const start = experimentInfo(name).start_time;
      if (isNum(start) && start > newestStart) {
        newest = name;
        newestStart = start;
      }
    }
    return newest;
  }

  function chooseExperiment(name) {
    state.expFilter = name;
    const info = experimentInfo(name);
    if (name && info.metric) {
      state.metric = info.metric;
      state.metricChosen = false;
    }
    if (name && (info.mode === "min" || info.mode === "max")) {
      state.mode = info.mode;
      state.modeChosen = false;
    }
  }

  function applyChanges(changes) {
    if (changes.reset) state.series.clear();
    for (const info of changes.trials) {
      if (!state.order.has(info.id)) state.order.set(info.id, state.order.size);
      state.trials.set(info.id, info);
      if (info.status !== "RUNNING" && info.status !== "PENDING" && info.status !== "PAUSED") {
        state.stopping.delete(info.id);
      }
    }
    for (const entry of changes.results) {
      let points = state.series.get(entry.trial_id);
      if (!points) {
        points = [];
        state.series.set(entry.trial_id, points);
      }
      points.push(entry.metrics);
      if (points.length > MAX_POINTS) {
        const last = points[points.length - 1];
        const kept = points.filter((_, i) => i % 2 === 0);
        if (kept[kept.length - 1] !== last) kept.push(last);
        state.series.set(entry.trial_id, kept);
      }
    }
    state.seq = changes.seq;
  }

  async function stopTrial(id, button) {
    state.stopping.add(id);
    if (button) {
      button.disabled = true;
      button.textContent = "stopping";
    }
    try {
      const answer = await api("PUT", "/trials/" + encodeURIComponent(id));
      for (const info of answer.trials) state.trials.set(info.id, info);
    } catch (err) {
      state.stopping.delete(id);
      showMessage("Could not stop trial " + id + ": " + err.message);
    }
    scheduleRender();
  }

  async function stopExperiment() {
    if (!window.confirm("Stop the experiment? Running trials are stopped.")) return;
    $("stop-experiment").disabled = true;
    try {
      await api("PUT", "/stop_experiment");
      state.meta.stopping = true;
    } catch (err) {
      showMessage("Could not stop the experiment: " + err.message);
    }
    scheduleRender();
  }

  // -- helpers ---------------------------------------------------------------------------
  function colour(id) {
    const index = state.order.get(id) || 0;
    if (index < PALETTE.length) return PALETTE[index];
    return "hsl(" + ((index * 137.5) % 360).toFixed(0) + ", 60%, 45%)";
  }

  function el(tag, attrs, parent, text) {
    const node = document.createElement(tag);
    for (const key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function visibleTrials() {
    const out = [];
    for (const info of state.trials.values()) {
      if (!state.expFilter || info.experiment === state.expFilter) out.push(info);
    }
    return out;
  }

  function metricOf(info) {
    const value = info.metrics ? info.metrics[state.metric] : undefined;
    return isNum(value) ? value : null;
  }

  function better(a, b) {
    return state.mode === "min" ? a < b : a > b;
  }

  function paramKeys(trials) {
    const keys = new Set();
    for (const info of trials) for (const key in info.params || {}) keys.add(key);
    if (keys.size === 0) {
      for (const info of trials) {
        for (const key in info.config || {}) {
          const value = info.config[key];
          if (value === null || typeof value !== "object") keys.add(key);
        }
      }
    }
    return Array.from(keys).slice(0, 12);
  }

  function paramValue(info, key) {
    if (info.params && key in info.params) return info.params[key];
    return info.config ? info.config[key] : undefined;
  }

  // -- rendering -------------------------------------------------------------------------
  function scheduleRender() {
    if (state.renderPending) return;
    state.renderPending = true;
    window.requestAnimationFrame(() => {
      state.renderPending = false;
      render();
    });
  }

  function render() {
    const trials = visibleTrials();
    renderHeader();
    renderControls(trials);
    const best = renderBest(trials);
    renderTable(trials, best);
    renderCurves(trials);
    renderParallel(trials);
  }

  function setBadge(kind, text) {
    const badge = $("exp-state");
    badge.className = "badge " + kind;
    badge.textContent = text;
  }

  function renderHeader() {
    const meta = state.meta;
    $("exp-name").textContent = meta.name || "dashboard";
    document.title = "tunelab: " + (meta.name || "dashboard");
    if (!meta.controllable) setBadge("finished", meta.finished ? "finished (from disk)" : "from disk");
    else if (meta.finished) setBadge("finished", "finished");
    else if (meta.stopping) setBadge("running", "stopping");
    else setBadge("running", "running");
    const counts = meta.counts || {};
    $("counts").textContent = Object.keys(counts).sort()
      .map((status) => counts[status] + " " + status).join(" \u00b7 ");
    const live = $("live");
    if (!state.connected) {
      live.textContent = meta.finished ? "experiment finished; server closed" : "disconnected, retrying";
    } else if (state.updatedAt) live.textContent = "updated " + state.updatedAt.toLocaleTimeString();
    $("stop-experiment").disabled = !meta.controllable || !!meta.finished || !!meta.stopping;
  }

  function renderControls(trials) {
    const keys = new Set();
    for (const info of trials) for (const key in info.metrics || {}) keys.add(key);
    const user = Array.from(keys).filter((k) => !AUTO_KEYS.has(k)).sort();
    const auto = Array.from(keys).filter((k) => AUTO_KEYS.has(k)).sort();
    const all = user.concat(auto);
    if (!state.metric || (!keys.has(state.metric) && !state.metricChosen && all.length)) {
      state.metric = all.length ? all[0] : state.metric;
      if (!state.modeChosen && state.metric && /loss|err|regret/i.test(state.metric)) {
        state.mode = "min";
      }
    }
    const signature = all.join("\u0000") + "|" + state.metric;
    if (signature !== state.metricKeys) {
      state.metricKeys = signature;
      const select = $("metric");
      select.textContent = "";
      if (state.metric && !keys.has(state.metric)) el("option", { value: state.metric }, select, state.metric);
      for (const key of all) el("option", { value: key }, select, key);
      select.value = state.metric || "";
    }
    $("mode").value = state.mode;
    const experiments = state.meta.experiments || [];
    const label = $("exp-filter-label");
    label.hidden = experiments.length < 2;
    const filter = $("exp-filter");
    if (filter.options.length !== experiments.length + 1) {
      filter.textContent = "";
      el("option", { value: "" }, filter, "all experiments");
      for (const name of experiments) el("option", { value: name }, filter, name);
    }
    filter.value = state.expFilter;
  }

  function renderBest(trials) {
    const body = $("best-body");
    let best = null;
    for (const info of trials) {
      const value = metricOf(info);
      if (value !== null && (best === null || better(value, metricOf(best)))) best = info;
    }
    body.textContent = "";
    if (!best) {
      body.className = "muted";
      body.textContent = state.metric ? "no trial has reported " + state.metric + " yet" : "no results yet";
      return null;
    }
    body.className = "";
    const list = el("dl", {}, body);
    const rows = [
      ["trial", best.name + " (" + best.id + ")"],
      [state.metric + " (" + state.mode + ")", fmt(metricOf(best))],
      ["status", best.status],
      ["iterations", fmt(best.iterations)],
    ];
    for (const key of paramKeys([best])) rows.push([key, fmt(paramValue(best, key))]);
    for (const [key, value] of rows) {
      el("dt", {}, list, key);
      el("dd", {}, list, value);
    }
    return best;
  }

  function columns(trials) {
    const cols = [
      { id: "trial", label: "Trial", get: (t) => t.name },
      { id: "status", label: "Status", get: (t) => t.status },
    ];
    if ((state.meta.experiments || []).length > 1 && !state.expFilter) {
      cols.push({ id: "experiment", label: "Experiment", get: (t) => t.experiment });
    }
    for (const key of paramKeys(trials)) {
      cols.push({ id: "p:" + key, label: key, get: (t) => paramValue(t, key) });
    }
    const metricKeys = new Set();
    for (const info of trials) for (const key in info.metrics || {}) metricKeys.add(key);
    const shown = [];
    if (state.metric) shown.push(state.metric);
    for (const key of Array.from(metricKeys).sort()) {
      if (shown.length >= 6) break;
      if (!AUTO_KEYS.has(key) && !shown.includes(key)) shown.push(key);
    }
    for (const key of shown) {
      cols.push({ id: "m:" + key, label: key, get: (t) => (t.metrics || {})[key], num: true });
    }
    cols.push({ id: "iterations", label: "Iterations", get: (t) => t.iterations, num: true });
    cols.push({ id: "time", label: "Time (s)", get: (t) => t.time_total_s, num: true });
    return cols;
  }

  function renderTable(trials, best) {
    const cols = columns(trials);
    const headRow = $("trials").tHead.rows[0];
    headRow.textContent = "";
    el("th", { title: "draw in the learning curves" }, headRow, "\u2713");
    for (const col of cols) {
      const cls = state.sortKey === col.id ? (state.sortDir > 0 ? "sorted-asc" : "sorted-desc") : "";
      el("th", { "data-col": col.id, class: cls }, headRow, col.label);
    }
    el("th", {}, headRow, "");
    let rows = trials.slice();
    const sortCol = cols.find((c) => c.id === state.sortKey);
    if (sortCol) {
      rows.sort((a, b) => {
        const order = compare(sortCol.get(a), sortCol.get(b));
        const nullA = sortCol.get(a) === null || sortCol.get(a) === undefined;
        const nullB = sortCol.get(b) === null || sortCol.get(b) === undefined;
        return nullA || nullB ? order : order * state.sortDir;
      });
    }
    $("trial-count").textContent = "(" + trials.length + (rows.length > MAX_ROWS ? ", first " + MAX_ROWS + " shown" : "") + ")";
    rows = rows.slice(0, MAX_ROWS);
    const body = $("trials").tBodies[0];
    const fresh = document.createElement("tbody");
    const controllable = !!state.meta.controllable && !state.meta.finished;
    for (const info of rows) {
      const tr = el("tr", { "data-trial-id": info.id, "data-status": info.status }, fresh);
      if (best && info.id === best.id) tr.className = "best";
      const check = el("td", {}, tr);
      const box = el("input", { type: "checkbox", class: "curve-check", "aria-label": "draw " + info.name }, check);
      box.checked = state.checked.has(info.id);
      for (const col of cols) {
        const value = col.get(info);
        const td = el("td", col.num ? { class: "num", "data-col": col.id } : { "data-col": col.id }, tr);
        if (col.id === "trial") {
          const swatch = el("span", { class: "swatch" }, td);
          swatch.style.background = colour(info.id);
          td.appendChild(document.createTextNode(fmt(value)));
          if (info.error) td.title = info.error;
        } else if (col.id === "status") {
          el("span", { class: "status " + info.status }, td, info.status);
        } else {
          td.textContent = fmt(value);
        }
      }
      const actions = el("td", {}, tr);
      const active = info.status === "RUNNING" || info.status === "PENDING" || info.status === "PAUSED";
      const stopping = state.stopping.has(info.id);
      const button = el("button", { type: "button", class: "stop-trial", "data-trial-id": info.id }, actions,
        stopping ? "stopping" : "Stop");
      button.disabled = !controllable || !active || stopping;
      if (!state.meta.controllable) button.title = "read-only: this dashboard reads the experiment from disk";
    }
    body.replaceWith(fresh);
  }

  function curveTrials(trials) {
    if (state.curveChoice === "checked") return trials.filter((t) => state.checked.has(t.id));
    if (state.curveChoice === "all") return trials.slice(0, 60);
    const ranked = trials.filter((t) => metricOf(t) !== null);
    ranked.sort((a, b) => (better(metricOf(a), metricOf(b)) ? -1 : better(metricOf(b), metricOf(a)) ? 1 : 0));
    return ranked.slice(0, 10);
  }

  function renderCurves(trials) {
    const metric = state.metric;
    const xKey = state.xaxis;
    const lines = [];
    for (const info of curveTrials(trials)) {
      const points = [];
      for (const p of state.series.get(info.id) || []) {
        if (isNum(p[xKey]) && isNum(p[metric])) points.push([p[xKey], p[metric]]);
      }
      if (points.length) lines.push({ id: info.id, name: info.name, colour: colour(info.id), points: points });
    }
    charts.curves($("curves"), lines, { xLabel: xKey, yLabel: metric });
  }

  function renderParallel(trials) {
    const metric = state.metric;
    const keys = paramKeys(trials);
    const rows = trials.filter((t) => metricOf(t) !== null).map((info) => ({
      id: info.id,
      name: info.name,
      values: keys.map((key) => paramValue(info, key)).concat([metricOf(info)]),
    }));
    charts.parallel($("parallel"), rows, keys.concat([metric]), { mode: state.mode });
  }

  // -- events ----------------------------------------------------------------------------
  function wire() {
    $("metric").addEventListener("change", (event) => {
      state.metric = event.target.value;
      state.metricChosen = true;
      scheduleRender();
    });
    $("mode").addEventListener("change", (event) => {
      state.mode = event.target.value;
      state.modeChosen = true;
      scheduleRender();
    });
    $("xaxis").addEventListener("change", (event) => {
      state.xaxis = event.target.value;
      scheduleRender();
    });
    $("curve-choice").addEventListener("change", (event) => {
      state.curveChoice = event.target.value;
      scheduleRender();
    });
    $("exp-filter").addEventListener("change", (event) => {
      state.expChosen = true;
      chooseExperiment(event.target.value);
      scheduleRender();
    });
    $("stop-experiment").addEventListener("click", stopExperiment);
    $("trials").addEventListener("click", (event) => {
      const th = event.target.closest("th[data-col]");
      if (th) {
        const col = th.getAttribute("data-col");
        if (state.sortKey === col) state.sortDir = -state.sortDir;
        else {
          state.sortKey = col;
          state.sortDir = 1;
        }
        scheduleRender();
        return;
      }
      const button = event.target.closest("button.stop-trial");
      if (button && !button.disabled) stopTrial(button.getAttribute("data-trial-id"), button);
    });
    $("trials").addEventListener("change", (event) => {
      const box = event.target.closest("input.curve-check");
      if (!box) return;
      const id = box.closest("tr").getAttribute("data-trial-id");
      if (box.checked) state.checked.add(id);
      else state.checked.delete(id);
      state.curveChoice = "checked";
      $("curve-choice").value = "checked";
      scheduleRender();
    });
    window.addEventListener("resize", scheduleRender);
  }

  function start() {
    wire();
    if (!token) {
      showMessage("No token: open the dashboard with the URL printed when the experiment " +
        "started (it ends with ?token=...).");
    }
    poll();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
