// One input widget per model argument, chosen from its Swagger parameter: type, format, enum,
// minimum/maximum, items, and the model author's hint `x-ui` (field metadata `ui`).

import { el, formatBytes, formatNumber, humanize } from "./dom.js";
import { parseCSV, table } from "./tables.js";

const FEW_CHOICES = 4;
const NUMERIC = new Set(["integer", "number"]);

/** The widget kind for a parameter (see docs/gui.md for the table). */
export function widgetKind(param) {
  const hint = param["x-ui"];
  if (param.type === "file") return "file";
  if (param.type === "array") {
    if (param.items && param.items.enum) return "checkboxes";
    return param.items && NUMERIC.has(param.items.type) ? "numbers" : "rows";
  }
  if (param.enum) {
    if (hint === "radio" || hint === "select") return hint;
    return param.enum.length <= FEW_CHOICES ? "radio" : "select";
  }
  if (param.type === "boolean") return "checkbox";
  if (NUMERIC.has(param.type)) {
    const bounded = param.minimum !== undefined && param.maximum !== undefined;
    return bounded && hint !== "number" ? "slider" : "number";
  }
  if (param.format === "date") return "date";
  if (param.format === "date-time") return "datetime";
  if (hint === "textarea") return "textarea";
  if (hint === "password" || param.format === "password") return "password";
  return "text";
}

/** The values of inputs that are not blank (a blank input is "not given"). */
function filled(...inputs) {
  return inputs.map((input) => input.value).filter((value) => value.trim() !== "");
}

function defaultText(param) {
  return param.default === undefined || param.default === null ? null : String(param.default);
}

function input(id, param, attrs) {
  const example = param["x-example"];
  return el("input", {
    id,
    name: param.name,
    required: param.required,
    value: defaultText(param),
    placeholder: example === undefined ? null : `e.g. ${example}`,
    ...attrs,
  });
}

const BUILDERS = {
  text: (param, id) =>
    single(
      input(id, param, { type: "text", minlength: param.minLength, maxlength: param.maxLength }),
    ),
  password: (param, id) => single(input(id, param, { type: "password", autocomplete: "off" })),
  textarea: (param, id) =>
    single(
      el(
        "textarea",
        { id, name: param.name, rows: 5, required: param.required },
        defaultText(param) || "",
      ),
    ),
  date: (param, id) => single(input(id, param, { type: "date" })),
  datetime: (param, id) => single(input(id, param, { type: "datetime-local", step: 1 })),
  number: (param, id) => single(numberInput(param, id)),

  slider(param, id) {
    const number = numberInput(param, id);
    const span = param.maximum - param.minimum;
    const step =
      param.type === "integer" ? 1 : span > 0 ? 10 ** Math.floor(Math.log10(span / 100)) : "any";
    const range = el("input", {
      type: "range",
      min: param.minimum,
      max: param.maximum,
      step,
      value: defaultText(param) ?? param.minimum,
      "aria-label": `${humanize(param.name)} (slider)`,
    });
    range.addEventListener("input", () => {
      number.value = range.value;
    });
    number.addEventListener("input", () => {
      if (number.value !== "") range.value = number.value;
    });
    return { ...single(number), node: el("div", { class: "slider" }, range, number) };
  },

  checkbox(param, id) {
    const box = el("input", {
      id,
      name: param.name,
      type: "checkbox",
      checked: param.default === true,
    });
    return {
      node: box,
      inline: true,
      values: () => [box.checked ? "true" : "false"],
      focus: () => box.focus(),
    };
  },

  select(param, id) {
    const noDefault = param.default === undefined;
    const select = el(
      "select",
      { id, name: param.name, required: param.required },
      noDefault && el("option", { value: "" }, param.required ? "— choose —" : "— not set —"),
      param.enum.map((choice) =>
        el("option", { value: choice, selected: choice === param.default }, choice),
      ),
    );
    return single(select);
  },

  radio(param, id) {
    const choices = [...param.enum];
    const unset = param.default === undefined && !param.required;
    const options = choices.map((choice, i) =>
      el(
        "label",
        { class: "choice" },
        el("input", {
          type: "radio",
          id: `${id}-${i}`,
          name: `${id}`,
          value: choice,
          checked: choice === param.default,
        }),
        String(choice),
      ),
    );
    if (unset) {
      options.push(
        el(
          "label",
          { class: "choice" },
          el("input", { type: "radio", name: id, value: "", checked: true }),
          "not set",
        ),
      );
    }
    const radios = () => options.map((label) => label.querySelector("input"));
    return {
      node: el("div", { class: "choices" }, options),
      group: true,
      values: () =>
        radios()
          .filter((r) => r.checked && r.value !== "")
          .map((r) => r.value),
      focus: () => (radios().find((r) => r.checked) || radios()[0]).focus(),
    };
  },

  checkboxes(param, id) {
    const chosen = new Set(Array.isArray(param.default) ? param.default : []);
    const boxes = param.items.enum.map((choice, i) =>
      el("input", {
        type: "checkbox",
        id: `${id}-${i}`,
        value: choice,
        checked: chosen.has(choice),
      }),
    );
    return {
      node: el(
        "div",
        { class: "choices" },
        boxes.map((box) => el("label", { class: "choice" }, box, box.value)),
      ),
      group: true,
      values: () => boxes.filter((box) => box.checked).map((box) => box.value),
      focus: () => boxes[0].focus(),
    };
  },

  numbers(param, id) {
    const text = el("input", {
      id,
      name: param.name,
      type: "text",
      inputmode: "decimal",
      placeholder: "e.g. 1, 2.5, 3",
      value: Array.isArray(param.default) ? param.default.join(", ") : null,
    });
    return {
      node: text,
      hint: "Separate the numbers with commas or spaces.",
      values: () => text.value.split(/[\s,;]+/).filter((item) => item !== ""),
      focus: () => text.focus(),
    };
  },

  rows(param, id) {
    const list = el("ol", { class: "rows" });
    const label = humanize(param.name);
    const number = () =>
      [...list.children].forEach((row, i) => {
        row.querySelector("input").setAttribute("aria-label", `${label}, item ${i + 1}`);
        row.querySelector("button").setAttribute("aria-label", `Remove ${label} item ${i + 1}`);
      });
    const addRow = (value = "") => {
      const item = el("input", { type: "text", value });
      const remove = el("button", { type: "button", class: "small" }, "Remove");
      const row = el("li", {}, item, remove);
      remove.addEventListener("click", () => {
        row.remove();
        number();
        add.focus();
      });
      list.append(row);
      number();
      return item;
    };
    const add = el("button", { type: "button", id, class: "small" }, `Add ${label}`);
    add.addEventListener("click", () => addRow().focus());
    (Array.isArray(param.default) && param.default.length ? param.default : [""]).forEach((v) =>
      addRow(String(v)),
    );
    const inputs = () => [...list.querySelectorAll("input")];
    return {
      node: el("div", { class: "list" }, list, add),
      group: true,
      values: () => filled(...inputs()),
      focus: () => (inputs()[0] || add).focus(),
    };
  },

  file(param, id) {
    const hint = param["x-ui"];
    const accept = hint === "image" ? "image/*" : hint === "csv" ? ".csv,text/csv" : null;
    const picker = el("input", {
      id,
      name: param.name,
      type: "file",
      accept,
      required: param.required,
    });
    const preview = el("div", { class: "preview", "aria-live": "polite" });
    picker.addEventListener("change", () => showPreview(picker.files[0], preview));
    return {
      node: el("div", {}, picker, preview),
      values: () => (picker.files[0] ? [picker.files[0]] : []),
      focus: () => picker.focus(),
    };
  },
};

/** A control whose value is one input's text (empty means "not given"). */
function single(control) {
  return {
    node: control,
    values: () => filled(control),
    focus: () => control.focus(),
    problem: () => (control.validity && control.validity.badInput ? "Enter a valid value." : null),
  };
}

function numberInput(param, id) {
  return input(id, param, {
    type: "number",
    step: param.type === "integer" ? 1 : "any",
    min: param.minimum,
    max: param.maximum,
  });
}

let previewURL = null;

/** Show a picked file: a picture, the first rows of a CSV file, or its name and size. */
async function showPreview(file, preview) {
  preview.replaceChildren();
  if (!file) return;
  const about = el("p", { class: "help" }, `${file.name}, ${formatBytes(file.size)}`);
  if (file.type.startsWith("image/")) {
    if (previewURL) URL.revokeObjectURL(previewURL);
    previewURL = URL.createObjectURL(file);
    preview.append(el("img", { src: previewURL, alt: `Preview of ${file.name}` }), about);
  } else if (file.type === "text/csv" || file.name.toLowerCase().endsWith(".csv")) {
    const rows = parseCSV(await file.slice(0, 64 * 1024).text());
    const [header = [], ...body] = rows.slice(0, 6);
    preview.append(table(header, body, { caption: `First rows of ${file.name}` }), about);
  } else {
    preview.append(about);
  }
}

/** A check of one value against the parameter's declared type and bounds; a message or null. */
function problemWith(value, spec) {
  if (value instanceof File || !spec) return null;
  if (NUMERIC.has(spec.type)) {
    const number = Number(value);
    if (value === "" || !Number.isFinite(number)) return `“${value}” is not a number.`;
    if (spec.type === "integer" && !Number.isInteger(number))
      return `“${value}” is not a whole number.`;
    if (spec.minimum !== undefined && number < spec.minimum)
      return `Must be at least ${formatNumber(spec.minimum)}.`;
    if (spec.maximum !== undefined && number > spec.maximum)
      return `Must be at most ${formatNumber(spec.maximum)}.`;
  }
  if (spec.type === "string") {
    if (spec.minLength !== undefined && value.length < spec.minLength)
      return `At least ${spec.minLength} characters.`;
    if (spec.maxLength !== undefined && value.length > spec.maxLength)
      return `At most ${spec.maxLength} characters.`;
  }
  return null;
}

/** The help text of a parameter: its description, its range, and how to fill it in. */
function helpText(param, control) {
  const description = param.description && param.description.replace(/([^.!?])$/, "$1.");
  const parts = [description];
  if (param.minimum !== undefined && param.maximum !== undefined) {
    parts.push(`From ${formatNumber(param.minimum)} to ${formatNumber(param.maximum)}.`);
  }
  parts.push(control.hint);
  return parts.filter(Boolean).join(" ");
}

/**
 * A labelled widget for `param`, with help text and an error slot:
 * `{name, element, append(formData), check(), showError(message), clearError(), focus()}`.
 */
export function widget(param, formId) {
  const id = `${formId}-${param.name}`;
  const control = BUILDERS[widgetKind(param)](param, id);
  const help = helpText(param, control);
  const error = el("p", { class: "error", id: `${id}-error`, hidden: true });
  const described = [help && `${id}-help`, `${id}-error`].filter(Boolean).join(" ");
  const marker = param.required && el("span", { class: "required", title: "required" }, " *");
  const labelText = [humanize(param.name), marker];
  let element;
  if (control.group) {
    element = el(
      "fieldset",
      { class: "field", "data-name": param.name, "aria-describedby": described },
      el("legend", {}, labelText),
    );
  } else if (control.inline) {
    element = el(
      "div",
      { class: "field", "data-name": param.name },
      el("label", { class: "choice", for: id }, control.node, labelText),
    );
    control.node.setAttribute("aria-describedby", described);
  } else {
    element = el(
      "div",
      { class: "field", "data-name": param.name },
      el("label", { for: id }, labelText),
    );
    control.node
      .querySelectorAll("input, select, textarea")
      .forEach((node) => node.setAttribute("aria-describedby", described));
    if (control.node.matches("input, select, textarea"))
      control.node.setAttribute("aria-describedby", described);
  }
  if (!control.inline) element.append(control.node);
  element.append(help ? el("p", { class: "help", id: `${id}-help` }, help) : "", error);

  const markInvalid = (invalid) => {
    element.classList.toggle("invalid", invalid);
    for (const node of element.querySelectorAll("input, select, textarea")) {
      if (invalid) node.setAttribute("aria-invalid", "true");
      else node.removeAttribute("aria-invalid");
    }
  };
  const showError = (message) => {
    error.textContent = message;
    error.hidden = false;
    markInvalid(true);
  };
  return {
    name: param.name,
    element,
    focus: control.focus,
    showError,
    clearError() {
      error.hidden = true;
      error.textContent = "";
      markInvalid(false);
    },
    append(formData) {
      for (const value of control.values()) formData.append(param.name, value);
    },
    check() {
      const values = control.values();
      const itemSpec = param.type === "array" ? param.items : param;
      const message =
        (control.problem && control.problem()) ||
        (param.required && values.length === 0 ? "This field is required." : null) ||
        values.map((value) => problemWith(value, itemSpec)).find(Boolean);
      if (message) showError(message);
      return !message;
    },
  };
}
