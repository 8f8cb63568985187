// tunelab dashboard: value formatting and the two SVG charts (learning curves, parallel
// coordinates). Plain JavaScript, no libraries. Exposes window.tunelabCharts.
"use strict";

window.tunelabCharts = (function () {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const HEIGHT = 320;

  function fmt(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number") {
      if (!Number.isFinite(value)) return String(value);
      if (Number.isInteger(value)) return String(value);
      const size = Math.abs(value);
      if (size !== 0 && (size < 1e-3 || size >= 1e6)) return value.toExponential(3);
      return String(Number(value.toPrecision(5)));
    }
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  function isNum(value) {
    return typeof value === "number" && Number.isFinite(value);
  }

  // numbers before text, missing values last
  function compare(a, b) {
    const an = a === null || a === undefined;
    const bn = b === null || b === undefined;
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) {
      lo -= 1;
      hi += 1;
    }
    const rough = (hi - lo) / count;
    const magnitude = Math.pow(10, Math.floor(Math.log10(rough)));
    const ratio = rough / magnitude;
    const step = magnitude * (ratio >= 7.5 ? 10 : ratio >= 3.5 ? 5 : ratio >= 1.5 ? 2 : 1);
    const ticks = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      ticks.push(Number(v.toPrecision(12)));
    }
    return ticks;
  }

  function svg(tag, attrs, parent, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const key in attrs || {}) node.setAttribute(key, attrs[key]);
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function shorten(text, size) {
    return text.length > size ? text.slice(0, size - 1) + "\u2026" : text;
  }

  // Legend names of one experiment share a long prefix ("train_digits_0ed32_000..."): keep
  // their ends, where they differ.
  function shortenKeepEnd(text, size) {
    return text.length > size ? "\u2026" + text.slice(text.length - size + 1) : text;
  }

  function frame(container) {
    container.textContent = "";
    const width = Math.max(container.clientWidth || 600, 320);
    const root = svg("svg", { viewBox: "0 0 " + width + " " + HEIGHT, width: width, height: HEIGHT,
      role: "img" }, container);
    return { root: root, width: width, height: HEIGHT };
  }

  function empty(container, text) {
    const f = frame(container);
    svg("text", { x: f.width / 2, y: f.height / 2, "text-anchor": "middle", class: "empty" }, f.root, text);
  }

  // lines: [{id, name, colour, points: [[x, y], ...]}]
  function curves(container, lines, options) {
    if (!options.yLabel || !lines.length) {
      empty(container, options.yLabel ? "no results of " + options.yLabel + " yet" : "no results yet");
      return;
    }
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const line of lines) {
      for (const [x, y] of line.points) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
    const f = frame(container);
    const m = { l: 62, r: 150, t: 12, b: 34 };
    const plotW = f.width - m.l - m.r, plotH = f.height - m.t - m.b;
    const xt = niceTicks(x0, x1, 6), yt = niceTicks(y0, y1, 5);
    const xl = Math.min(x0, xt[0]), xh = Math.max(x1, xt[xt.length - 1]);
    const yl = Math.min(y0, yt[0]), yh = Math.max(y1, yt[yt.length - 1]);
    const sx = (x) => m.l + ((x - xl) / (xh - xl || 1)) * plotW;
    const sy = (y) => m.t + plotH - ((y - yl) / (yh - yl || 1)) * plotH;
    for (const t of yt) {
      svg("line", { x1: m.l, x2: m.l + plotW, y1: sy(t), y2: sy(t), class: "grid" }, f.root);
      svg("text", { x: m.l - 6, y: sy(t) + 4, "text-anchor": "end" }, f.root, fmt(t));
    }
    for (const t of xt) {
      svg("text", { x: sx(t), y: m.t + plotH + 16, "text-anchor": "middle" }, f.root, fmt(t));
    }
    svg("line", { x1: m.l, x2: m.l + plotW, y1: m.t + plotH, y2: m.t + plotH, class: "axis" }, f.root);
    svg("line", { x1: m.l, x2: m.l, y1: m.t, y2: m.t + plotH, class: "axis" }, f.root);
    svg("text", { x: m.l + plotW / 2, y: f.height - 4, "text-anchor": "middle" }, f.root, options.xLabel);
    svg("text", { x: 12, y: m.t + plotH / 2, "text-anchor": "middle",
      transform: "rotate(-90 12 " + (m.t + plotH / 2) + ")" }, f.root, options.yLabel);
    lines.forEach((line, i) => {
      const d = line.points
        .map((p, j) => (j ? "L" : "M") + sx(p[0]).toFixed(1) + " " + sy(p[1]).toFixed(1))
        .join(" ");
      svg("path", { d: d, fill: "none", stroke: line.colour, "stroke-width": 1.6, class: "curve",
        "data-trial-id": line.id }, f.root);
      if (i < 14) {
        const y = m.t + 8 + i * 16;
        svg("rect", { x: f.width - m.r + 10, y: y - 8, width: 10, height: 10, fill: line.colour }, f.root);
        const label = svg("text", { x: f.width - m.r + 24, y: y + 1 }, f.root,
          shortenKeepEnd(line.name, 20));
        svg("title", {}, label, line.name);
      }
    });
  }

  // rows: [{id, name, values: [one per label; the last is the metric]}]; labels: axis names
  function parallel(container, rows, labels, options) {
    if (!labels[labels.length - 1] || !rows.length) {
      empty(container, "no results yet");
      return;
    }
    if (labels.length < 2) {
      empty(container, "no sampled parameters to compare");
      return;
    }
    const dims = labels.map((label, index) => {
      const values = rows.map((row) => row.values[index]);
      const dim = { label: label, numeric: values.every(isNum) };
      if (dim.numeric) {
        dim.lo = Math.min.apply(null, values);
        dim.hi = Math.max.apply(null, values);
        dim.pos = (v) => (dim.hi > dim.lo ? (v - dim.lo) / (dim.hi - dim.lo) : 0.5);
      } else {
        const cats = Array.from(new Set(values.map(fmt))).sort(compare);
        dim.cats = cats;
        dim.pos = (v) => (cats.length > 1 ? cats.indexOf(fmt(v)) / (cats.length - 1) : 0.5);
      }
      return dim;
    });
    const f = frame(container);
    const m = { l: 40, r: 60, t: 30, b: 24 };
    const plotW = f.width - m.l - m.r, plotH = f.height - m.t - m.b;
    const ax = (i) => m.l + (i / (dims.length - 1)) * plotW;
    const ay = (p) => m.t + plotH - p * plotH;
    const last = dims.length - 1;
    const ranked = rows.slice().sort((a, b) => compare(a.values[last], b.values[last]));
    ranked.forEach((row, rank) => {
      let quality = ranked.length > 1 ? rank / (ranked.length - 1) : 1;
      if (options.mode === "min") quality = 1 - quality;
      const hue = 10 + quality * 200; // red (worse) to blue (better)
      const d = dims
        .map((dim, i) => (i ? "L" : "M") + ax(i).toFixed(1) + " " + ay(dim.pos(row.values[i])).toFixed(1))
        .join(" ");
      const path = svg("path", { d: d, fill: "none", stroke: "hsl(" + hue.toFixed(0) + ", 70%, 45%)",
        "stroke-width": 1.4, "stroke-opacity": 0.75, class: "pc-line", "data-trial-id": row.id }, f.root);
      svg("title", {}, path, row.name + ": " + labels[last] + " = " + fmt(row.values[last]));
    });
    dims.forEach((dim, i) => {
      const x = ax(i);
      svg("line", { x1: x, x2: x, y1: m.t, y2: m.t + plotH, class: "axis" }, f.root);
      svg("text", { x: x, y: m.t - 12, "text-anchor": "middle", "font-weight": i === last ? "600" : "400" },
        f.root, shorten(dim.label, 18));
      if (dim.numeric) {
        svg("text", { x: x + 4, y: m.t + plotH + 14 }, f.root, fmt(dim.lo));
        svg("text", { x: x + 4, y: m.t + 4 }, f.root, fmt(dim.hi));
      } else {
        dim.cats.slice(0, 12).forEach((cat) => {
          svg("text", { x: x + 4, y: ay(dim.pos(cat)) + 4 }, f.root, shorten(cat, 12));
        });
      }
    });
  }

  return { fmt: fmt, isNum: isNum, compare: compare, curves: curves, parallel: parallel };
})();
