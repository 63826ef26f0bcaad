// The deployments: status, health, sync and last operation of each, with a filter.

import {get, getWithHeaders} from "../api.js";
import {badge, deploymentPath, errorBox, h, heading, link, operationPath, when} from "../dom.js";

const PAGE_SIZE = 100;

export async function deploymentsPage(view, _params, signal) {
  document.title = "Deployments · Deployment Manager";
  const filter = h("input", {
    id: "filter", type: "search", placeholder: "name, namespace, status…", autocomplete: "off",
  });
  const rows = h("tbody");
  const empty = h("p", {class: "muted", hidden: true}, "No deployments yet.");
  const more = h("button", {type: "button", hidden: true}, "Load more");
  const table = h(
    "div",
    {class: "scroll"},
    h(
      "table",
      {class: "deployments", "aria-label": "Deployments"},
      h("thead", {}, h("tr", {}, ["Name", "Namespace", "Status", "Health", "Sync", "Last operation", "Modified"].map(
        (title) => h("th", {scope: "col"}, title),
      ))),
      rows,
    ),
  );
  view.append(
    heading("Deployments"),
    h("div", {class: "toolbar"}, h("label", {for: "filter"}, "Filter"), filter),
    table,
    empty,
    more,
  );

  const apply = () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const row of rows.children) {
      row.hidden = !words.every((word) => row.dataset.search.includes(word));
    }
  };
  filter.addEventListener("input", apply);

  let after = "";
  const load = async () => {
    const query = `view=full&limit=${PAGE_SIZE}${after ? `&continue=${encodeURIComponent(after)}` : ""}`;
    const {data, headers} = await getWithHeaders(`/deployments?${query}`, signal);
    rows.append(...data.map((deployment) => row(deployment, signal)));
    after = headers.get("X-Continue") || "";
    more.hidden = !after;
    empty.hidden = rows.children.length > 0;
    apply();
  };
  more.addEventListener("click", () => load().catch((error) => more.after(errorBox(error))));
  await load();
}

function row(deployment, signal) {
  const health = deployment.health;
  const operationCell = h("td", {"data-label": "Last operation"}, "—");
  if (deployment.operation) fillOperation(operationCell, deployment.operation, signal);
  const errors = deployment.state.errors || [];
  const tr = h(
    "tr",
    {"data-name": deployment.name},
    h("th", {scope: "row", "data-label": "Name"}, link(deploymentPath(deployment.name), deployment.name)),
    h("td", {"data-label": "Namespace"}, deployment.namespace),
    h("td", {"data-label": "Status", title: errors.join("\n") || undefined}, badge(deployment.state.status, "Status")),
    h("td", {"data-label": "Health", title: health?.message || undefined}, badge(health?.status, "Health")),
    h("td", {"data-label": "Sync"}, badge(deployment.sync, "Sync")),
    operationCell,
    h("td", {"data-label": "Modified"}, when(deployment.modifiedAt)),
  );
  tr.dataset.search = [
    deployment.name, deployment.namespace, deployment.state.status, health?.status, deployment.sync,
  ].join(" ").toLowerCase();
  return tr;
}

// The last operation's type and outcome arrive after the row: the list stays quick.
async function fillOperation(cell, id, signal) {
  try {
    const operation = await get(operationPath(id), signal);
    cell.replaceChildren(link(operationPath(id), operation.type), " ", badge(operation.status, "Operation"));
  } catch (error) {
    if (error.name !== "AbortError") cell.replaceChildren(link(operationPath(id), id));
  }
}
