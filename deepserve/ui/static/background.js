// The Predict tab's "Run in background" toggle: the prediction is sent with
// `Prefer: respond-async`, so it becomes a job, followed in the job view of the Train tab
// (jobs.js); a done prediction's output is fetched and rendered as a direct answer would be.

import { check, linkTo, request } from "./api.js";
import { el } from "./dom.js";
import { jobsView } from "./jobs.js";
import { renderResponse } from "./render.js";

/**
 * Background runs of the predictions at `predictionsURL`, rendered with the predict answer's
 * `schema` under the file name `name`: `{toggle, view, active(), submit(href, data, accept),
 * leave()}`. The job view is built, and polls, once the toggle is first checked.
 */
export function backgroundRuns(predictionsURL, schema, name) {
  const box = el("input", { id: "predict-background", type: "checkbox" });
  const toggle = el(
    "div",
    { class: "field" },
    el("label", { class: "choice", for: box.id }, box, "Run in background"),
    el(
      "p",
      { class: "help" },
      "For long predictions: answers at once with a job to follow, whose result the server " +
        "keeps.",
    ),
  );
  const view = el("section", { class: "background", "aria-label": "Background predictions" });
  let jobs = null;

  const start = () => {
    if (jobs) return jobs;
    jobs = jobsView(predictionsURL, {
      empty: "No background predictions yet.",
      async renderOutput(job) {
        const response = await check(await request(linkTo(job.links, "output")));
        return renderResponse(response, schema, name);
      },
    });
    view.replaceChildren(el("h2", {}, "Background predictions"), jobs.details, jobs.list);
    return jobs;
  };
  box.addEventListener("change", () => box.checked && start());

  return {
    toggle,
    view,
    active: () => box.checked,
    async submit(href, data, accept) {
      const response = await check(
        await request(href, {
          method: "POST",
          body: data,
          headers: { Accept: accept, Prefer: "respond-async" },
        }),
      );
      start().select((await response.json()).id);
      view.scrollIntoView();
    },
    leave() {
      if (jobs) jobs.leave();
    },
  };
}
