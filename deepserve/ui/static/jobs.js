// The job view of the Train tab and of the Predict tab's background runs: follow a job's
// status, progress and log, cancel it, and browse past jobs. Jobs are polled while one is
// queued or running and the view is shown.

import { check, getJSON, linkTo, request } from "./api.js";
import { el, formatNumber, humanize, replaceKeepingFocus } from "./dom.js";
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

/** A job's URL: its `self` link, else the collection's URL + its id. */
function jobURL(jobsURL, job) {
  return linkTo(job.links, "self") || `${jobsURL}${encodeURIComponent(job.id)}`;
}

/** The last lines of a job's log (plain text). */
async function readLog(jobsURL, job) {
  const url = linkTo(job.links, "log") || `${jobURL(jobsURL, job)}/log`;
  const response = await request(`${url}?tail=${LOG_LINES}`);
  return response.ok ? response.text() : "";
}

/** What a job is doing, in detail: status, progress, metrics, result (or `output`, the
 * rendered output of a done prediction) or error, log. */
function jobDetails(job, log, output, onCancel) {
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
    output
      ? [el("h3", {}, "Result"), output]
      : hasResult && [el("h3", {}, "Result"), jsonTree(job.result)],
    el("h3", {}, "Log"),
    el(
      "pre",
      { class: "log", tabindex: 0, "data-key": "log", "aria-label": "Job log" },
      log || "(empty)",
    ),
  ];
}

/**
 * The jobs at `jobsURL` (a model's training jobs, or its predictions): `{details, list,
 * select(id), leave()}`; `details` shows the selected job, `list` them all. `empty` is the
 * text of an empty list; `renderOutput(job)`, if given, renders a done job's output.
 */
export function jobsView(jobsURL, { empty, renderOutput = null }) {
  const details = el("section", { class: "job", "aria-label": "Selected job" });
  const jobsList = el("div", { class: "jobs" });
  let selected = null; // id of the job shown in details
  let timer = null;
  let left = false; // set when the tab is closed: stop polling
  let loading = null; // the refresh in progress
  let again = false; // whether another refresh was asked for meanwhile
  let shownOutput = { id: null, node: null }; // the selected done job's rendered output

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
      const listed = await getJSON(jobsURL);
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
      jobsList.replaceChildren(el("p", { class: "help" }, empty));
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

  /** The rendered output of a done job, fetched once while it stays selected. */
  async function output(job) {
    if (!renderOutput || job.status !== "done") return null;
    if (shownOutput.id !== job.id) {
      let node;
      try {
        node = await renderOutput(job);
      } catch (error) {
        node = el("p", { class: "form-error" }, error.message);
      }
      shownOutput = { id: job.id, node };
    }
    return shownOutput.node;
  }

  async function showJob(job) {
    const [log, rendered] = await Promise.all([readLog(jobsURL, job), output(job)]);
    if (left || job.id !== selected) return;
    const oldLog = details.querySelector("pre.log");
    const atEnd = !oldLog || oldLog.scrollTop + oldLog.clientHeight >= oldLog.scrollHeight - 4;
    replaceKeepingFocus(
      details,
      jobDetails(job, log, rendered, (event) => cancel(job, event.target)),
    );
    const newLog = details.querySelector("pre.log");
    newLog.scrollTop = atEnd ? newLog.scrollHeight : oldLog.scrollTop; // follow the end, or stay
  }

  async function cancel(job, button) {
    button.disabled = true;
    button.textContent = "Cancelling…";
    try {
      await check(await request(jobURL(jobsURL, job), { method: "DELETE" }));
      refresh();
    } catch (error) {
      details.append(el("p", { class: "form-error", role: "alert" }, error.message));
    }
  }

  function select(id) {
    selected = id;
    refresh();
  }

  refresh();
  return {
    details,
    list: jobsList,
    select,
    leave() {
      left = true;
      clearTimeout(timer);
    },
  };
}
