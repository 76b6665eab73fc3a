// The Train tab: start a training job, follow its status, progress and log, cancel it, and
// browse past jobs. Jobs are polled while one is queued or running and the tab is open.

import { check, getJSON, linkTo, operation, request } from "./api.js";
import { el, formatNumber, humanize, replaceKeepingFocus } from "./dom.js";
import { argumentForm } from "./forms.js";
import { jsonTree } from "./render.js";
import { table } from "./tables.js";

const ACTIVE = new Set(["queued", "running"]);
const POLL_MS = 1000;
const LOG_LINES = 200;

/** A job time (an ISO string, or seconds since the epoch) for people. */
function when(value) {
  if (value === null || value === undefined) return "—";
  return new Date(typeof value === "number" ? value * 1000 : value).toLocaleString();
}

function seconds(value) {
  return typeof value === "number" ? `${formatNumber(value)} s` : "—";
}

function percent(progress) {
  return typeof progress === "number" ? `${Math.round(progress * 100)} %` : "—";
}

function statusBadge(status) {
  return el("span", { class: `badge status-${status}` }, status);
}

/** A job's URL: its `self` link, else the train URL + its id. */
function jobURL(trainURL, job) {
  return linkTo(job.links, "self") || `${trainURL}${encodeURIComponent(job.id)}`;
}

/** The last lines of a job's log (plain text). */
async function readLog(trainURL, job) {
  const url = linkTo(job.links, "log") || `${jobURL(trainURL, job)}/log`;
  const response = await request(`${url}?tail=${LOG_LINES}`);
  return response.ok ? response.text() : "";
}

/** What a job is doing, in detail: status, progress, metrics, result or error, log. */
function jobDetails(job, log, onCancel) {
  const known = typeof job.progress === "number";
  const progress =
    (known || ACTIVE.has(job.status)) && // unknown while active: an indeterminate bar
    el("progress", { max: 1, value: known ? job.progress : null, "aria-label": "Progress" });
  const facts = [
    ["created", when(job.created)],
    ["started", when(job.started)],
    ["finished", when(job.finished)],
    ["duration", seconds(job.duration)],
    ...Object.entries(job.metrics || {}).map(([key, value]) => [
      humanize(key),
      typeof value === "number" ? formatNumber(value) : JSON.stringify(value),
    ]),
  ];
  const hasResult = job.result !== null && job.result !== undefined;
  return [
    el("h2", {}, `Job ${job.id.slice(0, 8)} `, statusBadge(job.status)),
    (progress || job.message) &&
      el(
        "p",
        { class: "progress-line" },
        progress && [progress, known ? ` ${percent(job.progress)}` : ""],
        job.message ? ` — ${job.message}` : "",
      ),
    ACTIVE.has(job.status) &&
      el(
        "button",
        { type: "button", class: "danger", "data-key": "cancel", onclick: onCancel },
        "Cancel job",
      ),
    el(
      "dl",
      { class: "summary" },
      facts.map(([key, value]) => [el("dt", {}, key), el("dd", {}, value)]),
    ),
    job.error && el("p", { class: "form-error" }, job.error),
    hasResult && [el("h3", {}, "Result"), jsonTree(job.result)],
    el("h3", {}, "Log"),
    el(
      "pre",
      { class: "log", tabindex: 0, "data-key": "log", "aria-label": "Job log" },
      log || "(empty)",
    ),
  ];
}

/** The Train tab for the model whose train URL is `trainURL`: `{panel, leave}`. */
export function trainPanel(spec, trainURL) {
  const op = operation(spec, trainURL, "post");
  const details = el("section", { class: "job", "aria-label": "Selected job" });
  const jobsList = el("div", { class: "jobs" });
  let selected = null; // id of the job shown in details
  let timer = null;
  let left = false; // set when the tab is closed: stop polling
  let loading = null; // the refresh in progress
  let again = false; // whether another refresh was asked for meanwhile

  function refresh() {
    if (loading) {
      again = true;
      return;
    }
    clearTimeout(timer);
    loading = load().finally(() => {
      loading = null;
      if (again && !left) {
        again = false;
        refresh();
      }
    });
  }

  async function load() {
    let jobs;
    try {
      const listed = await getJSON(trainURL);
      jobs = Array.isArray(listed) ? listed : listed.jobs; // DEEPaaS models: a bare array
    } catch (error) {
      jobsList.replaceChildren(el("p", { class: "form-error" }, error.message));
      return;
    }
    if (left) return;
    showJobs(jobs);
    const job = jobs.find((j) => j.id === selected);
    if (job) await showJob(job);
    if (!left && jobs.some((j) => ACTIVE.has(j.status))) timer = setTimeout(refresh, POLL_MS);
  }

  function showJobs(jobs) {
    if (!jobs.length) {
      jobsList.replaceChildren(el("p", { class: "help" }, "No training jobs yet."));
      return;
    }
    const show = (job) =>
      el(
        "button",
        {
          type: "button",
          class: "link",
          "data-key": `show-${job.id}`,
          onclick: () => select(job.id),
        },
        job.id === selected ? el("strong", {}, job.id.slice(0, 8)) : job.id.slice(0, 8),
      );
    const rows = jobs.map((job) => [
      show(job),
      statusBadge(job.status),
      percent(job.progress),
      when(job.created),
      seconds(job.duration),
    ]);
    replaceKeepingFocus(
      jobsList,
      table(["Job", "Status", "Progress", "Created", "Duration"], rows),
    );
  }

  async function showJob(job) {
    const log = await readLog(trainURL, job);
    if (left || job.id !== selected) return;
    const oldLog = details.querySelector("pre.log");
    const atEnd = !oldLog || oldLog.scrollTop + oldLog.clientHeight >= oldLog.scrollHeight - 4;
    replaceKeepingFocus(
      details,
      jobDetails(job, log, (event) => cancel(job, event.target)),
    );
    const newLog = details.querySelector("pre.log");
    newLog.scrollTop = atEnd ? newLog.scrollHeight : oldLog.scrollTop; // follow the end, or stay
  }

  async function cancel(job, button) {
    button.disabled = true;
    button.textContent = "Cancelling…";
    try {
      await check(await request(jobURL(trainURL, job), { method: "DELETE" }));
      refresh();
    } catch (error) {
      details.append(el("p", { class: "form-error", role: "alert" }, error.message));
    }
  }

  function select(id) {
    selected = id;
    refresh();
  }

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
          select((await response.json()).id);
        },
      })
    : el("p", { class: "form-error" }, `The API description has no operation at ${trainURL}.`);

  refresh();
  return {
    panel: el(
      "div",
      {},
      el("div", { class: "columns" }, form, details),
      el("h2", {}, "Jobs"),
      jobsList,
    ),
    leave() {
      left = true;
      clearTimeout(timer);
    },
  };
}
