// Render what the API answered: JSON as a tree plus tables, charts and pictures found in it;
// images inline; CSV as a table; anything else as a download.

import { isNumbers, lineChart, plotData } from "./chart.js";
import { el, formatBytes, fragment, humanize, isObject } from "./dom.js";
import { columnsTable, isColumns, isRecords, parseCSV, recordsTable, table } from "./tables.js";

const EXTENSIONS = {
  "application/json": "json",
  "application/octet-stream": "bin",
  "application/pdf": "pdf",
  "image/jpeg": "jpg",
  "image/svg+xml": "svg",
  "text/plain": "txt",
};

let resultURLs = [];

/** An object URL for a result, released when the next result is rendered. */
function resultURL(blob) {
  const url = URL.createObjectURL(blob);
  resultURLs.push(url);
  return url;
}

function download(url, filename) {
  return el("a", { class: "button", href: url, download: filename }, `Download ${filename}`);
}

/** The media type of a response, without parameters. */
export function mediaType(response) {
  return (response.headers.get("Content-Type") || "").split(";")[0].trim().toLowerCase();
}

/** Render an API response by its media type; `schema` describes a JSON answer, if known. */
export async function renderResponse(response, schema, name = "prediction") {
  resultURLs.forEach((url) => URL.revokeObjectURL(url));
  resultURLs = [];
  const type = mediaType(response);
  if (type === "application/json" || type.endsWith("+json")) {
    return renderJSON(await response.json(), schema);
  }
  const blob = await response.blob();
  const subtype = type.split("/")[1] || "bin";
  const filename = `${name}.${EXTENSIONS[type] || subtype.replace(/^x-/, "").split("+")[0]}`;
  const url = resultURL(blob);
  if (type.startsWith("image/")) {
    return fragment(
      el("img", { class: "result-image", src: url, alt: `${humanize(name)} (${type})` }),
      el("p", {}, download(url, filename)),
    );
  }
  if (type === "text/csv") {
    const [header = [], ...rows] = parseCSV(await blob.text());
    return fragment(table(header, rows), el("p", {}, download(url, filename)));
  }
  if (type.startsWith("text/")) {
    return fragment(
      el("pre", { class: "text-result" }, await blob.text()),
      el("p", {}, download(url, filename)),
    );
  }
  return el(
    "p",
    {},
    `The answer is a file (${type || "binary"}, ${formatBytes(blob.size)}). `,
    download(url, filename),
  );
}

/** The key holding the answer in `{"status": ..., "predictions"|"result": ...}`, or null. */
function envelopeKey(data) {
  if (!isObject(data) || !("status" in data) || Object.keys(data).length !== 2) return null;
  return ["predictions", "result"].find((key) => key in data) || null;
}

/** A JSON answer: its scalar fields, its tables, charts and pictures, and the whole tree. */
export function renderJSON(data, schema = null) {
  const key = envelopeKey(data);
  const inner = key && schema && schema.properties ? schema.properties[key] : null;
  return fragment(
    key ? views(data[key], inner, key) : views(data, schema, "result"),
    el("section", { class: "view" }, el("h3", {}, "JSON"), jsonTree(data)),
  );
}

/** The summary and special views of a value (an object's fields one by one). */
function views(value, schema, name) {
  const own = view(value, schema, name);
  if (own) return [own];
  if (Array.isArray(value)) return [];
  if (!isObject(value)) return [summary([[name, value]])];
  const properties = (schema && schema.properties) || {};
  const entries = Object.entries(value).map(([key, v]) => [key, v, view(v, properties[key], key)]);
  const scalars = entries.filter(([, v, shown]) => !shown && (v === null || typeof v !== "object"));
  return [
    scalars.length ? summary(scalars, properties) : null,
    entries.map(([, , shown]) => shown),
  ];
}

/** A definition list of scalar fields, each with its schema description as a tooltip. */
function summary(entries, properties = {}) {
  return el(
    "dl",
    { class: "summary" },
    entries.map(([key, value]) => [
      el("dt", { title: (properties[key] && properties[key].description) || null }, humanize(key)),
      el("dd", {}, typeof value === "string" ? value : JSON.stringify(value)),
    ]),
  );
}

/** A table, chart or picture for a value, chosen by its `x-ui` hint or its shape; or null. */
function view(value, schema, name) {
  const hint = schema && schema["x-ui"];
  if (hint === "json") return null;
  let body = null;
  if (hint === "image" || (typeof value === "string" && value.startsWith("data:image/"))) {
    body = typeof value === "string" ? imageView(value, name) : null;
  } else if (hint === "plot" || (isNumbers(value) && value.length > 1)) {
    const data = plotData(value, humanize(name));
    body = data && lineChart(data, humanize(name));
  }
  if (!body && isRecords(value)) body = recordsTable(value);
  else if (!body && hint === "table" && isColumns(value)) body = columnsTable(value);
  if (!body) return null;
  const description = schema && schema.description;
  return el(
    "section",
    { class: "view" },
    el("h3", {}, humanize(name)),
    description && el("p", { class: "help" }, description),
    body,
  );
}

/** A picture from a data: URL, a URL, or bare base64 (taken as PNG). */
function imageView(value, name) {
  const src = /^(data:|https?:|\/)/.test(value) ? value : `data:image/png;base64,${value}`;
  return el("img", { class: "result-image", src, alt: humanize(name) });
}

/** A collapsible tree of a JSON value (native <details>, so it works with the keyboard). */
export function jsonTree(value, key = null, depth = 0) {
  const label = key === null ? null : el("span", { class: "key" }, `${key}: `);
  if (value === null || typeof value !== "object") {
    let text = JSON.stringify(value);
    if (text.length > 160) text = `${text.slice(0, 120)}…" (${text.length} characters)`;
    return el(
      "span",
      { class: "leaf" },
      label,
      el("span", { class: `json-${value === null ? "null" : typeof value}` }, text),
    );
  }
  if (Array.isArray(value) && value.every((v) => v === null || typeof v !== "object")) {
    const text = JSON.stringify(value);
    if (text.length <= 60)
      return el("span", { class: "leaf" }, label, el("span", { class: "json-list" }, text));
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  const count = Array.isArray(value)
    ? `[${entries.length} item${entries.length === 1 ? "" : "s"}]`
    : `{${entries.length} field${entries.length === 1 ? "" : "s"}}`;
  return el(
    "details",
    { class: "tree", open: depth < 3 && entries.length <= 50 },
    el("summary", {}, label, el("span", { class: "muted" }, count)),
    el(
      "ul",
      {},
      entries.map(([k, v]) => el("li", {}, jsonTree(v, k, depth + 1))),
    ),
  );
}
