// Streamed predictions (models declaring `predict_streams`): the answer is read with fetch()
// as Server-Sent Events and each item is shown as it arrives: text appended, pictures
// replaced, other JSON items listed.

import { el } from "./dom.js";
import { jsonTree } from "./render.js";

/** The media type a streamed prediction is asked for. */
export const STREAM_TYPE = "text/event-stream";

/** The events of a `text/event-stream` response body, each `{event, id, data}`, as they come. */
export async function* serverSentEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      yield parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
}

function parseEvent(block) {
  const event = { event: "message", id: null, data: [] };
  for (const line of block.split("\n")) {
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") event.data.push(value);
    else if (field === "event" || field === "id") event[field] = value;
  }
  return { ...event, data: event.data.join("\n") };
}

/**
 * Show the items of a streamed prediction in `container` as they arrive; resolves when the
 * stream ends. A failure midway is shown after the items received before it. A Stop button
 * calls `abort` (which must abort the fetch of `response`): the server then closes the model's
 * generator, and the items received stay.
 */
export async function showStream(response, container, abort) {
  const count = el("span", { class: "stream-count" }, "Receiving…");
  const stop = el("button", { type: "button", class: "small" }, "Stop");
  let stopped = false;
  stop.addEventListener("click", () => {
    stopped = true;
    abort();
  });
  const status = el("p", { class: "status" }, count, " ", stop);
  container.append(status);
  container.setAttribute("aria-busy", "true"); // screen readers wait for the end, not each item
  const progress = { received: 0 };
  try {
    await readItems(response, container, count, progress);
  } catch (error) {
    if (!stopped) throw error;
    count.textContent = `${items(progress.received)}; stopped.`;
  } finally {
    stop.remove();
    container.removeAttribute("aria-busy");
  }
}

async function readItems(response, container, count, progress) {
  const shown = el("div", { class: "stream" });
  container.append(shown);
  let text = null;
  let picture = null;
  let list = null;
  let received = 0;
  for await (const event of serverSentEvents(response)) {
    if (event.event === "item") {
      const item = JSON.parse(event.data);
      received += 1;
      progress.received = received;
      count.textContent = `Receiving… ${items(received)}`;
      if (typeof item === "string" && item.startsWith("data:image/")) {
        picture = picture || shown.appendChild(el("img", { class: "result-image", alt: "" }));
        picture.src = item;
        picture.alt = `Item ${received}`;
      } else if (typeof item === "string") {
        text = text || shown.appendChild(el("pre", { class: "text-result stream-text" }));
        text.textContent += item;
        text.scrollTop = text.scrollHeight; // follow the text as it grows
      } else {
        list = list || shown.appendChild(el("ol", { class: "stream-items" }));
        list.append(el("li", {}, jsonTree(item)));
      }
    } else if (event.event === "done") {
      count.textContent = `${items(received)}, complete.`;
      return;
    } else if (event.event === "error") {
      count.textContent = `${items(received)}, then an error.`;
      const { message } = JSON.parse(event.data);
      container.append(el("p", { class: "form-error", role: "alert" }, message));
      return;
    }
  }
  count.textContent = `${items(received)}; the stream was cut off.`;
}

function items(count) {
  return `${count} item${count === 1 ? "" : "s"}`;
}
