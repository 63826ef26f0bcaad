// An operation with live progress: the steps as they happen, from the events stream,
// without reloading.

import {followOperation, get} from "../api.js";
import {badge, deploymentPath, errorBox, h, heading, link, when} from "../dom.js";

const ENDED = new Set(["Succeeded", "Failed", "Cancelled"]);
const OPEN_STEP = new Set(["Pending", "Running"]);

export async function operationPage(view, [id], signal) {
  document.title = `Operation ${id} · Deployment Manager`;
  let operation = await get(`/operations/${encodeURIComponent(id)}`, signal);
  const title = h("div");
  const bar = h("div", {class: "bar"});
  const progress = h("div", {
    class: "progress", role: "progressbar", "aria-label": "Progress", "aria-valuemin": "0",
  }, bar);
  const count = h("span", {class: "count"});
  const steps = h("ol", {class: "steps", "aria-label": "Steps"});
  const ended = h("div", {class: "ended"});
  const live = h("p", {class: "muted live", "aria-live": "polite"});
  view.append(title, h("div", {class: "progress-line"}, progress, count), live, steps, ended);

  const render = () => {
    const total = operation.steps.length;
    const done = operation.steps.filter((step) => !OPEN_STEP.has(step.status)).length;
    title.replaceChildren(
      heading(`${operation.type} of ${operation.deployment}`, badge(operation.status, "Operation")),
      h("p", {class: "muted"}, "Operation ", h("code", {}, operation.id), " of ",
        link(deploymentPath(operation.deployment), operation.deployment),
        ", created ", when(operation.createdAt),
        operation.endedAt ? [", ended ", when(operation.endedAt)] : null),
    );
    progress.setAttribute("aria-valuemax", String(total));
    progress.setAttribute("aria-valuenow", String(done));
    progress.dataset.status = operation.status;
    bar.style.width = total ? `${(100 * done) / total}%` : ENDED.has(operation.status) ? "100%" : "0";
    count.textContent = `${done} of ${total} steps`;
    steps.replaceChildren(...operation.steps.map(stepItem));
    ended.replaceChildren(...(operation.errors || []).map((text) => h("div", {class: "error", role: "alert"}, text)));
  };
  render();
  if (ENDED.has(operation.status)) return;

  live.textContent = "Following the operation as it runs…";
  try {
    await followOperation(operation.id, (event) => {
      if (event.type === "step") operation.steps[event.data.index] = event.data.step;
      else if (event.type === "status") operation.status = event.data.status;
      else if (event.type === "end") operation = event.data.operation;
      render();
    }, signal);
    live.textContent = "The operation has ended.";
  } catch (error) {
    if (error.name === "AbortError") return;
    live.replaceChildren(errorBox(error));
  }
}

function stepItem(step) {
  return h(
    "li",
    {class: `step ${step.status.toLowerCase()}`},
    h("span", {class: "action"}, step.action),
    h("span", {class: "name"}, step.resource),
    badge(step.status, "Step"),
    step.message ? h("span", {class: "message"}, step.message) : null,
  );
}
