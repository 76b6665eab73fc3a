// A form for one API operation, generated from its Swagger formData parameters.

import { el } from "./dom.js";
import { widget } from "./widgets.js";

/** Server error messages for one argument (a list, or nested by list index), as one text. */
function messages(value) {
  if (Array.isArray(value)) return value.map(messages).join(" ");
  if (value !== null && typeof value === "object") {
    return Object.entries(value)
      .map(([key, inner]) =>
        /^\d+$/.test(key) ? `Item ${Number(key) + 1}: ${messages(inner)}` : messages(inner),
      )
      .join(" ");
  }
  return String(value);
}

/**
 * A form for `parameters`; on submit, checks every field and calls `onSubmit(formData)`.
 * An ApiError thrown by `onSubmit` is shown: its per-argument errors next to their fields.
 * `before` is shown above the submit button (e.g. a choice of response type).
 */
export function argumentForm(parameters, { id, submitLabel, busyLabel, onSubmit, before = null }) {
  const widgets = parameters
    .filter((param) => param.in === "formData")
    .map((param) => widget(param, id));
  const button = el("button", { type: "submit", class: "primary" }, submitLabel);
  const alert = el("p", { class: "form-error", role: "alert", hidden: true });
  const intro = widgets.some((w) => w.element.querySelector(".required"))
    ? el("p", { class: "help" }, "Fields marked * are required.")
    : null;
  const form = el(
    "form",
    { id, class: "arguments", novalidate: true },
    widgets.length ? intro : el("p", { class: "help" }, "This operation takes no arguments."),
    widgets.map((w) => w.element),
    before,
    el("div", { class: "actions" }, button),
    alert,
  );

  const showAlert = (text) => {
    alert.textContent = text;
    alert.hidden = !text;
  };
  const showErrors = (errors) => {
    const unplaced = [];
    let first = null;
    for (const [name, value] of Object.entries(errors)) {
      const target = widgets.find((w) => w.name === name);
      if (target) {
        target.showError(messages(value));
        first = first || target;
      } else unplaced.push(`${name}: ${messages(value)}`);
    }
    if (first) first.focus();
    return unplaced;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    widgets.forEach((w) => w.clearError());
    showAlert("");
    const invalid = widgets.filter((w) => !w.check());
    if (invalid.length) {
      invalid[0].focus();
      showAlert("Please correct the marked fields.");
      return;
    }
    const data = new FormData();
    widgets.forEach((w) => w.append(data));
    button.disabled = true;
    button.textContent = busyLabel;
    form.setAttribute("aria-busy", "true");
    try {
      await onSubmit(data);
    } catch (error) {
      const unplaced = error.errors ? showErrors(error.errors) : [];
      showAlert([error.message, ...unplaced].join(" — "));
    } finally {
      button.disabled = false;
      button.textContent = submitLabel;
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}
