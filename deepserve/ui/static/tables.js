// Tables: CSV parsing and an HTML table that stays readable on a phone.

import { el, formatNumber, isObject } from "./dom.js";

/** Rows of a CSV text (RFC 4180: quoted fields, doubled quotes, CRLF or LF). */
export function parseCSV(text) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") {
      row.push(field);
      field = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += char;
  }
  if (field !== "" || row.length) rows.push([...row, field]);
  return rows;
}

/** A cell's content: nodes as they are, numbers formatted, objects as JSON. */
function cell(value) {
  if (value instanceof Node) return value;
  if (typeof value === "number") return formatNumber(value);
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return value === null || value === undefined ? "" : String(value);
}

/**
 * A scrollable table of `rows` (arrays of cells) under `header`; at most `limit` rows are
 * shown, with a note saying how many there are.
 */
export function table(header, rows, { limit = 200, caption = null } = {}) {
  const shown = rows.slice(0, limit);
  const note =
    rows.length > limit
      ? el("p", { class: "help" }, `Showing the first ${limit} of ${rows.length} rows.`)
      : null;
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      {},
      caption && el("caption", {}, caption),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          header.map((name) => el("th", { scope: "col" }, name)),
        ),
      ),
      el(
        "tbody",
        {},
        shown.map((row) =>
          el(
            "tr",
            {},
            row.map((value) =>
              el("td", { class: typeof value === "number" ? "num" : null }, cell(value)),
            ),
          ),
        ),
      ),
    ),
    note,
  );
}

/** Whether `value` is a list of records (objects), which reads best as a table. */
export function isRecords(value) {
  return Array.isArray(value) && value.length > 0 && value.every(isObject);
}

/** Whether `value` is an object of equally long lists (columns), e.g. pandas' `to_dict("list")`. */
export function isColumns(value) {
  const columns = isObject(value) ? Object.values(value) : [];
  return (
    columns.length > 0 && columns.every((c) => Array.isArray(c) && c.length === columns[0].length)
  );
}

/** A table of columns: one column per key. */
export function columnsTable(columns, options) {
  const names = Object.keys(columns);
  const rows = columns[names[0]].map((_, i) => names.map((name) => columns[name][i]));
  return table(names, rows, options);
}

/** A table of records: one column per key, in order of first appearance. */
export function recordsTable(records, options) {
  const columns = [...new Set(records.flatMap((record) => Object.keys(record)))];
  return table(
    columns,
    records.map((record) => columns.map((name) => record[name])),
    options,
  );
}
