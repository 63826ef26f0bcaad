// A deployment's stored preview: the plan with each object's diff, and the actions
// apply (exactly what was previewed) and discard.

import {change, get} from "../api.js";
import {actionButton, badge, deploymentPath, go, h, heading, link, operationPath} from "../dom.js";
import {unifiedDiffView} from "../diff.js";

const ACTIONS = ["create", "update", "delete", "unchanged"];

export async function previewPage(view, [name], signal) {
  document.title = `Preview of ${name} · Deployment Manager`;
  const path = deploymentPath(name);
  view.append(heading(`Preview of ${name}`), h("p", {}, link(path, `Back to ${name}`)));
  const preview = await get(`${path}/preview`, signal);
  const counts = Object.fromEntries(ACTIONS.map((action) => [action, preview.plan.filter((item) => item.action === action).length]));
  const summary = ACTIONS.filter((action) => counts[action]).map((action) => `${counts[action]} to ${action === "unchanged" ? "leave unchanged" : action}`).join(", ");
  const messages = h("div", {class: "messages", "aria-live": "polite"});
  view.append(
    h("p", {}, `Manifest ${preview.manifest}: ${summary || "nothing to do"}. Nothing has changed on the cluster yet.`),
    h(
      "div",
      {class: "actions", role: "group", "aria-label": "Preview actions"},
      actionButton(
        "Apply preview",
        () => ({
          title: `Apply the preview of ${name}?`,
          text: `Exactly the previewed manifest ${preview.manifest} is applied: ${summary || "nothing to do"}. If ${name} changed since the preview, nothing is applied.`,
          action: "Apply",
        }),
        async () => go(operationPath((await change("POST", `${path}/preview/apply`)).id)),
        messages,
      ),
      actionButton(
        "Discard preview",
        () => ({
          title: `Discard the preview of ${name}?`,
          text: "The preview is forgotten; nothing changes on the cluster.",
          action: "Discard",
        }),
        async () => {
          await change("DELETE", `${path}/preview`);
          go(path);
        },
        messages,
        {class: "danger"},
      ),
    ),
    messages,
    preview.warnings?.length
      ? h("ul", {class: "warnings", "aria-label": "Warnings"}, preview.warnings.map((text) => h("li", {}, text)))
      : null,
    h("ul", {class: "plan", "aria-label": "Plan"}, preview.plan.map(planItem)),
  );
}

function planItem(item) {
  const where = item.namespace ? `${item.namespace}/` : "";
  return h(
    "li",
    {"data-resource": item.resource},
    h(
      "details",
      {open: item.action !== "unchanged" ? true : undefined},
      h("summary", {}, badge(item.action, "Action"), " ", h("span", {class: "name"}, item.resource), " ",
        h("span", {class: "type"}, `${item.kind} ${where}${item.name}`)),
      unifiedDiffView(item.diff, `Diff of ${item.resource}`),
    ),
  );
}
