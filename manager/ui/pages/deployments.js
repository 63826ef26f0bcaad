// The deployments: status, health, sync and last operation of each, with a filter.

import {get, getWithHeaders} from "../api.js";
import {
  badge, deploymentPath, errorBox, h, heading, link, operationPath, table, tableRow, when,
} from "../dom.js";

const PAGE_SIZE = 100;
const COLUMNS = ["Name", "Namespace", "Status", "Health", "Sync", "Last operation", "Modified"];

export async function deploymentsPage(view, _params, signal) {
  document.title = "Deployments · Deployment Manager";
  const filter = h("input", {
    id: "filter", type: "search", placeholder: "name, namespace, status…", autocomplete: "off",
  });
  const list = table("Deployments", COLUMNS, []);
  const rows = list.querySelector("tbody");
  const empty = h("p", {class: "muted", hidden: true}, "No deployments yet.");
  const more = h("button", {type: "button", hidden: true}, "Load more");
  view.append(
    heading("Deployments"),
    h("div", {class: "toolbar"}, h("label", {for: "filter"}, "Filter"), filter),
    list,
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
  const errors = deployment.state.errors || [];
  const tr = tableRow(COLUMNS, [
    link(deploymentPath(deployment.name), deployment.name),
    deployment.namespace,
    h("span", {title: errors.join("\n") || undefined}, badge(deployment.state.status, "Status")),
    h("span", {title: health?.message || undefined}, badge(health?.status, "Health")),
    badge(deployment.sync, "Sync"),
    "—",
    when(deployment.modifiedAt),
  ], {"data-name": deployment.name});
  if (deployment.operation) fillOperation(tr.cells[5], deployment.operation, signal);
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
