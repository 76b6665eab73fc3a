// Line charts as inline SVG, for numeric series in a model's answer.

import { el, formatNumber, isObject } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const MAX_WIDTH = 640;
const HEIGHT = 300;
const MARGIN = { left: 60, right: 16, top: 16, bottom: 36 };
const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

/** Whether `value` is a non-empty list of finite numbers. */
export function isNumbers(value) {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((n) => typeof n === "number" && Number.isFinite(n))
  );
}

/**
 * The lines to plot from a value, or null when it cannot be plotted: a list of numbers (one
 * line), a list of [x, y] pairs, or an object of lists of numbers (one line each; a list
 * named "x" gives the x values).
 */
export function plotData(value, name) {
  if (isNumbers(value)) return { x: null, lines: [{ name, values: value }] };
  if (Array.isArray(value) && value.length && value.every((p) => isNumbers(p) && p.length === 2)) {
    return { x: value.map((p) => p[0]), lines: [{ name, values: value.map((p) => p[1]) }] };
  }
  if (!isObject(value)) return null;
  const series = Object.entries(value).filter(([, values]) => isNumbers(values));
  const lines = series
    .filter(([key]) => key !== "x")
    .map(([key, values]) => ({ name: key, values }));
  if (!lines.length) return null;
  const x = series.find(([key]) => key === "x");
  return { x: x ? x[1] : null, lines };
}

/** About `count` round tick values covering [min, max] (whole numbers if `integer`). */
function ticks(min, max, integer = false, count = 6) {
  const rough = Math.max((max - min) / count, integer ? 1 : 0);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const ratio = rough / magnitude;
  const step = magnitude * (ratio >= 7.5 ? 10 : ratio >= 3.5 ? 5 : ratio >= 1.5 ? 2 : 1);
  const values = [];
  for (let v = Math.floor(min / step) * step; v <= max + step / 2; v += step) {
    values.push(Number(v.toPrecision(12)));
  }
  return values;
}

/** The [min, max] of `values`, widened when they are all equal. */
function extent(values) {
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (min === max) {
    const pad = Math.abs(min) / 10 || 1;
    min -= pad;
    max += pad;
  }
  return [min, max];
}

function svg(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/** An SVG line chart of `data` (from plotData) with axes, ticks and a legend. */
export function lineChart(data, title) {
  // Drawn at about the width it is shown at, so that its text stays readable on a phone.
  const WIDTH = Math.max(300, Math.min(MAX_WIDTH, window.innerWidth - 64));
  const length = Math.min(...data.lines.map((line) => line.values.length));
  const xs = (data.x || [...Array(length).keys()]).slice(0, length);
  const xTicks = ticks(...extent(xs), !data.x, WIDTH < 500 ? 4 : 6);
  const yTicks = ticks(...extent(data.lines.flatMap((line) => line.values.slice(0, length))));
  const [x0, x1] = [xTicks[0], xTicks[xTicks.length - 1]];
  const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
  const px = (v) => MARGIN.left + ((v - x0) / (x1 - x0)) * (WIDTH - MARGIN.left - MARGIN.right);
  const py = (v) =>
    HEIGHT - MARGIN.bottom - ((v - y0) / (y1 - y0)) * (HEIGHT - MARGIN.top - MARGIN.bottom);

  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: "chart",
    role: "img",
    "aria-label": `Line chart of ${title}: ${data.lines.map((l) => l.name).join(", ")}`,
  });
  for (const v of yTicks) {
    chart.append(
      svg("line", {
        x1: MARGIN.left,
        x2: WIDTH - MARGIN.right,
        y1: py(v),
        y2: py(v),
        class: "grid",
      }),
    );
    chart.append(
      svg("text", { x: MARGIN.left - 6, y: py(v) + 4, "text-anchor": "end" }, formatNumber(v)),
    );
  }
  for (const v of xTicks) {
    chart.append(
      svg("line", {
        x1: px(v),
        x2: px(v),
        y1: HEIGHT - MARGIN.bottom,
        y2: HEIGHT - MARGIN.bottom + 5,
        class: "axis",
      }),
    );
    chart.append(
      svg(
        "text",
        { x: px(v), y: HEIGHT - MARGIN.bottom + 20, "text-anchor": "middle" },
        formatNumber(v),
      ),
    );
  }
  chart.append(
    svg("line", {
      x1: MARGIN.left,
      x2: WIDTH - MARGIN.right,
      y1: HEIGHT - MARGIN.bottom,
      y2: HEIGHT - MARGIN.bottom,
      class: "axis",
    }),
  );
  data.lines.forEach((line, i) => {
    const color = COLORS[i % COLORS.length];
    const points = xs.map((x, j) => `${px(x).toFixed(1)},${py(line.values[j]).toFixed(1)}`);
    chart.append(
      svg("polyline", { points: points.join(" "), fill: "none", stroke: color, "stroke-width": 2 }),
    );
    if (length <= 60) {
      xs.forEach((x, j) =>
        chart.append(svg("circle", { cx: px(x), cy: py(line.values[j]), r: 3, fill: color })),
      );
    }
  });
  const legend = el(
    "ul",
    { class: "legend" },
    data.lines.map((line, i) =>
      el(
        "li",
        {},
        el("span", { class: "swatch", style: `background:${COLORS[i % COLORS.length]}` }),
        line.name,
      ),
    ),
  );
  return el("figure", { class: "chart-figure" }, chart, legend);
}
