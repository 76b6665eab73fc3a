// The GUI's entry point: the model list, and one page per model with Predict, Train and
// Validate tabs. Routes live in the URL fragment (#/<model>/<tab>), so the page is one static
// file that works under any base path.

import { check, linkTo, loadServer, operation, request, resolve, setToken, token } from "./api.js";
import { el, humanize } from "./dom.js";
import { backgroundRuns } from "./background.js";
import { argumentForm } from "./forms.js";
import { jsonTree, renderResponse } from "./render.js";
import { STREAM_TYPE, showStream } from "./stream.js";
import { trainPanel } from "./train.js";

const main = document.getElementById("main");
const SHOWN_METADATA = new Set("id name description links version author license url".split(" "));
const TABS = [
  ["predict", "Predict"],
  ["train", "Train"],
  ["validate", "Validate"],
];

let leaveView = null; // stops what the current view runs in the background (job polling)

/** Show `nodes` as the page, titled `title`, and move the focus to its heading. */
function show(title, ...nodes) {
  if (leaveView) leaveView();
  leaveView = null;
  document.title = `${title} · deepserve`;
  main.replaceChildren(...nodes.flat().filter(Boolean));
  window.scrollTo(0, 0);
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

function modelFacts(model) {
  const facts = [
    model.version && `version ${model.version}`,
    model.author && `by ${model.author}`,
    model.license && `license ${model.license}`,
  ].filter(Boolean);
  return facts.length ? el("p", { class: "facts" }, facts.join(" · ")) : null;
}

/** The models that failed to load, with the reason: what to fix. */
function rejectedList(rejected) {
  const names = Object.keys(rejected).sort();
  if (!names.length) return null;
  return [
    el("h2", {}, "Not served: failed to load"),
    el(
      "ul",
      { class: "cards" },
      names.map((name) =>
        el(
          "li",
          { class: "card rejected" },
          el("h2", {}, name),
          el("p", { class: "form-error" }, rejected[name]),
        ),
      ),
    ),
  ];
}

function modelList(models, rejected) {
  show(
    "Models",
    el("h1", {}, "Models"),
    models.length
      ? el(
          "ul",
          { class: "cards" },
          models.map((model) =>
            el(
              "li",
              { class: "card" },
              el("h2", {}, el("a", { href: `#/${encodeURIComponent(model.id)}` }, model.name)),
              el("p", {}, model.description || ""),
              modelFacts(model),
              el(
                "p",
                { class: "badges" },
                TABS.filter(([rel]) => linkTo(model.links, rel)).map(([, label]) =>
                  el("span", { class: "badge" }, label),
                ),
              ),
            ),
          ),
        )
      : el("p", {}, "This server serves no models."),
    rejectedList(rejected),
  );
}

/** The rest of a model's metadata (keys beyond the documented ones), as a tree. */
function moreMetadata(model) {
  const extra = Object.fromEntries(
    Object.entries(model).filter(([key]) => !SHOWN_METADATA.has(key)),
  );
  return Object.keys(extra).length
    ? el("details", { class: "more" }, el("summary", {}, "More about this model"), jsonTree(extra))
    : null;
}

/**
 * A form for an operation and where its answer is rendered (Predict and Validate): `{panel,
 * leave}`, `leave` stopping what still arrives when the view is left (a streamed answer, a
 * background job's view). With `predictions` (the model's predictions URL) it may also run in
 * the background.
 */
function operationPanel(spec, href, { id, submitLabel, busyLabel, name, predictions = null }) {
  const op = operation(spec, href, "post");
  if (!op) {
    const missing = `The API description has no operation at ${href}.`;
    return { panel: el("p", { class: "form-error" }, missing), leave: null };
  }
  const ok = op.responses && op.responses["200"];
  const schema = resolve(spec, ok && ok.schema);
  const produces = op.produces || ["application/json"];
  const streams = op["x-deepserve-stream"] === true; // items shown as they come
  let reading = null; // aborts the answer being read
  const accept =
    produces.length > 1 && !streams
      ? el(
          "select",
          { id: `${id}-accept` },
          produces.map((type) => el("option", { value: type }, type)),
        )
      : null;
  const result = el("section", { class: "result", "aria-live": "polite", "aria-label": "Result" });
  const background = predictions && backgroundRuns(predictions, schema, name);
  const form = argumentForm(op.parameters || [], {
    id,
    submitLabel,
    busyLabel,
    before: [
      accept &&
        el("div", { class: "field" }, el("label", { for: `${id}-accept` }, "Response type"), accept),
      background && background.toggle,
    ],
    async onSubmit(data) {
      if (background && background.active()) {
        await background.submit(href, data, accept ? accept.value : produces[0]);
        return;
      }
      result.replaceChildren(el("p", { class: "status" }, `${busyLabel}`));
      if (reading) reading.abort();
      const controller = new AbortController();
      reading = controller;
      try {
        const response = await check(
          await request(href, {
            method: "POST",
            body: data,
            headers: { Accept: streams ? STREAM_TYPE : accept ? accept.value : produces[0] },
            signal: controller.signal,
          }),
        );
        if (streams) {
          result.replaceChildren(el("h2", {}, "Result"));
          await showStream(response, result, () => controller.abort());
          return;
        }
        result.replaceChildren(
          el("h2", {}, "Result"),
          await renderResponse(response, schema, name),
        );
        // after a long form the result may be out of sight (above, or below on a phone)
        const top = result.getBoundingClientRect().top;
        if (top < 0 || top > window.innerHeight) result.scrollIntoView();
      } catch (error) {
        result.replaceChildren();
        throw error;
      }
    },
  });
  return {
    panel: el("div", {}, el("div", { class: "columns" }, form, result), background && background.view),
    leave: () => {
      if (reading) reading.abort();
      if (background) background.leave();
    },
  };
}

function modelPage(server, model, tab) {
  const href = linkTo(model.links, tab);
  const tabs = el(
    "nav",
    { class: "tabs", "aria-label": "Operations" },
    TABS.filter(([rel]) => linkTo(model.links, rel)).map(([rel, label]) =>
      el(
        "a",
        {
          href: `#/${encodeURIComponent(model.id)}/${rel}`,
          "aria-current": rel === tab ? "page" : null,
        },
        label,
      ),
    ),
  );
  let panel;
  let leave = null;
  if (!href) panel = el("p", {}, `${model.name} has no ${tab} operation.`);
  else if (tab === "train") ({ panel, leave } = trainPanel(server.spec, href));
  else {
    const labels = tab === "predict" ? ["Predict", "Predicting…"] : ["Validate", "Validating…"];
    ({ panel, leave } = operationPanel(server.spec, href, {
      id: tab,
      submitLabel: labels[0],
      busyLabel: labels[1],
      name: `${model.id}-${tab}`,
      predictions: tab === "predict" ? linkTo(model.links, "predictions") : null,
    }));
  }
  show(
    `${model.name} · ${humanize(tab)}`,
    el(
      "header",
      { class: "model" },
      el("p", { class: "crumbs" }, el("a", { href: "#/" }, "Models"), " / "),
      el("h1", {}, model.name),
      el("p", {}, model.description || ""),
      modelFacts(model),
      /^https?:\/\//.test(model.url || "") &&
        el("p", {}, el("a", { href: model.url, rel: "noopener" }, model.url)),
      moreMetadata(model),
    ),
    tabs,
    panel,
  );
  leaveView = leave;
}

function route(server) {
  const hash = location.hash;
  if (hash && !hash.startsWith("#/")) return; // an in-page anchor, not a route
  const [name, tab = "predict"] = hash.slice(2).split("/").map(decodeURIComponent);
  const model = name && server.models.find((m) => m.id === name);
  if (!name) modelList(server.models, server.rejected);
  else if (!model && Object.hasOwn(server.rejected, name))
    show(
      name,
      el("h1", {}, name),
      el("p", { class: "form-error" }, `This model failed to load: ${server.rejected[name]}`),
      el("p", {}, "Fix it and restart the server (or save it again, with deepserve run --reload)."),
    );
  else if (!model)
    show(
      "Not found",
      el("h1", {}, "Not found"),
      el(
        "p",
        {},
        `No model named “${name}” is served. `,
        el("a", { href: "#/" }, "See all models."),
      ),
    );
  else modelPage(server, model, TABS.some(([rel]) => rel === tab) ? tab : "predict");
}

let server = null; // the spec and model list, once loaded

async function load() {
  try {
    server = await loadServer();
  } catch (error) {
    show(
      "Error",
      el("h1", {}, "The server did not answer"),
      el("p", { class: "form-error" }, error.message),
    );
    return;
  }
  window.addEventListener("hashchange", () => route(server));
  route(server);
  document.body.dataset.ready = "true";
}

const tokenField = document.getElementById("token");
tokenField.value = token();
tokenField.addEventListener("change", () => {
  setToken(tokenField.value.trim());
  if (!server) load(); // the token may be what was missing
});
document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  tokenField.dispatchEvent(new Event("change"));
});
load();
