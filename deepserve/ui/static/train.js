// The Train tab: start a training job, then follow it in the job view (jobs.js).

import { check, operation, request } from "./api.js";
import { el } from "./dom.js";
import { argumentForm } from "./forms.js";
import { jobsView } from "./jobs.js";

/** The Train tab for the model whose train URL is `trainURL`: `{panel, leave}`. */
export function trainPanel(spec, trainURL) {
  const op = operation(spec, trainURL, "post");
  const view = jobsView(trainURL, { empty: "No training jobs yet." });
  const form = op
    ? argumentForm(op.parameters || [], {
        id: "train",
        submitLabel: "Start training",
        busyLabel: "Starting…",
        async onSubmit(data) {
          const response = await check(
            await request(trainURL, {
              method: "POST",
              body: data,
              headers: { Accept: "application/json" },
            }),
          );
          view.select((await response.json()).id);
        },
      })
    : el("p", { class: "form-error" }, `The API description has no operation at ${trainURL}.`);
  return {
    panel: el(
      "div",
      {},
      el("div", { class: "columns" }, form, view.details),
      el("h2", {}, "Jobs"),
      view.list,
    ),
    leave: view.leave,
  };
}
