// chart.js: small line charts drawn as SVG, for the Server page. No dependencies.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const palette = ["#2858c7", "#1b7f3b", "#b3261e", "#9a6700", "#7a3fb8", "#00838f", "#c2185b", "#5f6b7a"];

function svg(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** format shows a number briefly: 1234 → "1234", 0.0123 → "0.012". */
export function format(v) {
  if (v === 0) return "0";
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 1) return v.toFixed(1);
  return v.toPrecision(2);
}

/**
 * Chart is a line chart of named series over the last `points` samples, redrawn in el (a
 * figure) on each push. el.dataset.last holds the sum of the last samples, el.dataset.points
 * the number of samples, for tests.
 */
export class Chart {
  constructor(el, { title, unit = "", points = 60, width = 360, height = 110 }) {
    this.el = el;
    this.unit = unit;
    this.points = points;
    this.width = width;
    this.height = height;
    this.series = new Map(); // name → array of values, oldest first
    this.n = 0;
    this.svg = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title });
    this.legend = h("ul.legend");
    el.replaceChildren(h("figcaption", {}, title), this.svg, this.legend);
  }

  /** push adds one sample per series: values maps a series name to its value (absent: 0). */
  push(values) {
    for (const name of values.keys()) {
      if (!this.series.has(name)) this.series.set(name, new Array(this.n).fill(0));
    }
    for (const [name, data] of this.series) {
      data.push(values.get(name) ?? 0);
      if (data.length > this.points) data.shift();
    }
    this.n = Math.min(this.n + 1, this.points);
    this.draw();
  }

  draw() {
    const { width: w, height: ht, points } = this;
    let max = 0;
    let last = 0;
    for (const data of this.series.values()) {
      for (const v of data) max = Math.max(max, v);
      last += data[data.length - 1] ?? 0;
    }
    const top = max > 0 ? max * 1.1 : 1;
    const nodes = [
      svg("line", { x1: 0, y1: ht - 0.5, x2: w, y2: ht - 0.5, class: "axis" }),
      Object.assign(svg("text", { x: 4, y: 12, class: "scale" }), { textContent: `${format(top)} ${this.unit}` }),
    ];
    const items = [];
    let i = 0;
    for (const [name, data] of this.series) {
      const color = palette[i++ % palette.length];
      const x0 = w - ((data.length - 1) / (points - 1)) * w;
      const pts = data.map((v, j) => `${(x0 + (j / (points - 1)) * w).toFixed(1)},${(ht - 1 - (v / top) * (ht - 16)).toFixed(1)}`);
      nodes.push(svg("polyline", { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": 1.5, "data-series": name }));
      const swatch = svg("svg", { viewBox: "0 0 10 10", class: "swatch", "aria-hidden": "true" });
      swatch.append(svg("rect", { width: 10, height: 10, rx: 2, fill: color })); // an attribute: the page's policy allows no inline style
      items.push(h("li", { "data-series": name }, swatch, ` ${name}: ${format(data[data.length - 1] ?? 0)} ${this.unit}`));
    }
    this.svg.replaceChildren(...nodes);
    this.legend.replaceChildren(...(items.length ? items : [h("li.muted", {}, "nothing yet")]));
    this.el.dataset.last = String(last);
    this.el.dataset.max = String(max);
    this.el.dataset.points = String(this.n);
  }
}

/** sparkline draws values (oldest first, at most `points`) as a small SVG line. */
export function sparkline(values, points = 60, width = 120, height = 24) {
  const max = Math.max(0, ...values);
  const top = max > 0 ? max : 1;
  const x0 = width - ((values.length - 1) / (points - 1)) * width;
  const pts = values.map((v, j) => `${(x0 + (j / (points - 1)) * width).toFixed(1)},${(height - 1 - (v / top) * (height - 3)).toFixed(1)}`);
  const s = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "spark", "aria-hidden": "true" });
  s.append(svg("polyline", { points: pts.join(" "), fill: "none", stroke: palette[0], "stroke-width": 1.2 }));
  return s;
}
