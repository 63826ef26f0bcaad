// A deployment: its state, its layout tree (templates expand into their resources, each
// resource with its state, health and object on demand), its operations, and the
// actions sync, update (previewed or not) and delete.

import {ApiError, change, get} from "../api.js";
import {
  actionButton, badge, deploymentPath, errorBox, go, h, heading, link, operationPath, table,
  tableRow, when,
} from "../dom.js";
import {unifiedDiffView} from "../diff.js";
import {toYaml} from "../yaml.js";

const RUNNING = new Set(["Deploying", "Updating", "Deleting"]);

export async function deploymentPage(view, [name], signal) {
  document.title = `${name} · Deployment Manager`;
  const path = deploymentPath(name);
  const deployment = await get(path, signal);
  const [manifest, operations] = await Promise.all([
    deployment.latestManifest ? get(`${path}/manifests/${encodeURIComponent(deployment.latestManifest)}`, signal) : null,
    get(`${path}/operations`, signal),
  ]);
  const messages = h("div", {class: "messages", "aria-live": "polite"});
  // Parts a deployment may not have yet (a running operation, a manifest) are null.
  view.append(...[
    heading(
      name,
      badge(deployment.state.status, "Status"),
      badge(deployment.health?.status, "Health"),
      badge(deployment.sync, "Sync"),
    ),
    RUNNING.has(deployment.state.status)
      ? h("p", {class: "notice"}, `${deployment.state.status}: `, link(operationPath(deployment.operation), "follow the running operation"))
      : null,
    facts(deployment),
    actions(deployment, manifest, messages),
    messages,
    editor(deployment, manifest),
    h("section", {"aria-labelledby": "layout-title"},
      h("h2", {id: "layout-title"}, "Layout"),
      manifest ? layoutTree(deployment, manifest) : h("p", {class: "muted"}, "No manifest yet.")),
    h("section", {"aria-labelledby": "operations-title"},
      h("h2", {id: "operations-title"}, "Operations"),
      operationsTable(operations)),
  ].filter(Boolean));
}

function facts(deployment) {
  const path = deploymentPath(deployment.name);
  const item = (term, ...value) => [h("dt", {}, term), h("dd", {}, ...value)];
  const errors = deployment.state.errors || [];
  return h(
    "dl",
    {class: "facts"},
    item("Namespace", deployment.namespace),
    item("Revision", deployment.revision ? link(`${path}/revisions`, `${deployment.revision} (${deployment.latestManifest})`) : "—"),
    item("Health", deployment.health ? `${deployment.health.status}${deployment.health.message ? `: ${deployment.health.message}` : ""}` : "not checked yet"),
    item("Operation", deployment.operation ? link(operationPath(deployment.operation), deployment.operation) : "—"),
    item("Created", when(deployment.createdAt)),
    item("Deployed", when(deployment.deployedAt)),
    item("Modified", when(deployment.modifiedAt)),
    errors.length ? item("Errors", h("ul", {class: "errors"}, errors.map((text) => h("li", {}, text)))) : null,
  );
}

function actions(deployment, manifest, messages) {
  const name = deployment.name;
  const path = deploymentPath(name);
  const count = manifest ? manifest.expandedConfig.resources.length : 0;
  const started = (operation) => go(operationPath(operation.id));
  return h(
    "div",
    {class: "actions", role: "group", "aria-label": "Actions"},
    link(`${path}/revisions`, "Revisions"),
    link(`${path}/preview`, "Preview"),
    actionButton(
      "Sync",
      () => ({
        title: `Sync ${name}?`,
        text: `Every one of the ${count} resources of revision ${deployment.revision} is applied again, repairing any drift.`,
        action: "Sync",
      }),
      async () => started(await change("POST", `${path}/sync`, undefined, deployment.fingerprint)),
      messages,
      {"aria-label": `Sync ${name}`},
    ),
    actionButton(
      "Delete",
      () => ({
        title: `Delete ${name}?`,
        text: `Its ${count} resources are deleted from namespace ${deployment.namespace}, in reverse dependency order, and the deployment is forgotten.`,
        action: "Delete",
      }),
      async () => started(await change("DELETE", path, undefined, deployment.fingerprint)),
      messages,
      {class: "danger", "aria-label": `Delete ${name}`},
    ),
  );
}

// The configuration of the latest revision, to edit and preview or apply; its imports
// are sent again as they were.
function editor(deployment, manifest) {
  if (!manifest) return null;
  const name = deployment.name;
  const path = deploymentPath(name);
  const input = manifest.inputConfig;
  const text = h("textarea", {id: "configuration", rows: "16", spellcheck: "false"});
  text.value = input.content;
  const messages = h("div", {class: "messages", "aria-live": "polite"});
  const template = () => ({
    name,
    content: text.value,
    imports: input.imports,
    namespace: deployment.namespace,
    ...(input.options ? {options: input.options} : {}),
  });
  const preview = h("button", {type: "button"}, "Preview changes");
  preview.addEventListener("click", async () => {
    messages.replaceChildren();
    try {
      await change("PUT", `${path}?preview=true`, template());
      go(`${path}/preview`);
    } catch (error) {
      messages.replaceChildren(errorBox(error));
    }
  });
  const imports = input.imports.map((item) => item.name).join(", ");
  return h(
    "details",
    {class: "editor"},
    h("summary", {}, "Change the configuration"),
    h("label", {for: "configuration"}, `Configuration of revision ${manifest.revision}`),
    text,
    h("p", {class: "muted"}, imports ? `Sent with its imports: ${imports}.` : "It has no imports."),
    h(
      "div",
      {class: "actions"},
      preview,
      actionButton(
        "Apply update",
        () => ({
          title: `Update ${name}?`,
          text: `The edited configuration is expanded and applied: changed resources are applied, removed ones deleted from namespace ${deployment.namespace}.`,
          action: "Update",
        }),
        async () => go(operationPath((await change("PUT", path, template(), deployment.fingerprint)).id)),
        messages,
      ),
    ),
    messages,
  );
}

function layoutTree(deployment, manifest) {
  const resources = new Map(manifest.expandedConfig.resources.map((item) => [item.name, item]));
  const objects = liveObjects(deployment.name);
  const tree = h("ul", {class: "tree", "aria-label": `Layout of ${deployment.name}`});
  tree.append(...manifest.layout.resources.map((node) => treeNode(node, resources, objects)));
  const toggleAll = (open) => () => {
    for (const button of tree.querySelectorAll("button.twisty")) setOpen(button, open);
  };
  return h(
    "div",
    {},
    h(
      "div",
      {class: "toolbar"},
      h("button", {type: "button", onclick: toggleAll(true)}, "Expand all"),
      h("button", {type: "button", onclick: toggleAll(false)}, "Collapse all"),
      h("span", {class: "muted"}, `${resources.size} resources in revision ${manifest.revision}`),
    ),
    h("div", {class: "scroll"}, tree),
    manifest.warnings?.length
      ? h("ul", {class: "warnings", "aria-label": "Warnings"}, manifest.warnings.map((text) => h("li", {}, text)))
      : null,
  );
}

function setOpen(button, open) {
  button.setAttribute("aria-expanded", String(open));
  document.getElementById(button.getAttribute("aria-controls")).hidden = !open;
}

let nodeIds = 0;

// Templates are disclosure buttons over the list of what they made.
function treeNode(node, resources, objects) {
  if (!node.resources) return resourceNode(node, resources.get(node.name), objects);
  nodeIds += 1;
  const childrenId = `node-${nodeIds}`;
  const children = h("ul", {id: childrenId, hidden: true});
  children.append(...node.resources.map((child) => treeNode(child, resources, objects)));
  const button = h(
    "button",
    {type: "button", class: "twisty", "aria-expanded": "false", "aria-controls": childrenId},
    h("span", {class: "name"}, node.name),
  );
  button.addEventListener("click", () => setOpen(button, button.getAttribute("aria-expanded") !== "true"));
  const count = countResources(node);
  return h(
    "li",
    {class: "template", "data-name": node.name},
    h("div", {class: "row"}, button, h("span", {class: "type"}, node.type), h("span", {class: "muted"}, `${count} resource${count === 1 ? "" : "s"}`)),
    children,
  );
}

function countResources(node) {
  return node.resources ? node.resources.reduce((sum, child) => sum + countResources(child), 0) : 1;
}

function resourceNode(node, resource, objects) {
  const state = resource?.state;
  const panel = h("div", {class: "object", hidden: true});
  nodeIds += 1;
  panel.id = `object-${nodeIds}`;
  const show = h(
    "button",
    {type: "button", class: "quiet", "aria-expanded": "false", "aria-controls": panel.id, "aria-label": `Object of ${node.name}`},
    "Object",
  );
  show.addEventListener("click", async () => {
    const open = show.getAttribute("aria-expanded") !== "true";
    show.setAttribute("aria-expanded", String(open));
    panel.hidden = !open;
    if (open && !panel.childElementCount) panel.append(...(await objectView(node, resource, objects)));
  });
  const errors = state?.errors || [];
  return h(
    "li",
    {class: "resource", "data-name": node.name},
    h(
      "div",
      {class: "row"},
      h("span", {class: "name"}, node.name),
      h("span", {class: "type"}, node.type),
      h("span", {class: "state"}, badge(state?.status, "State")),
      h("span", {class: "health", title: state?.health?.message || undefined}, badge(state?.health?.status, "Health")),
      show,
    ),
    errors.length ? h("ul", {class: "errors"}, errors.map((text) => h("li", {}, text))) : null,
    panel,
  );
}

// The drift report is read once per page, when the first object is opened: it reads
// every live object of the deployment.
function liveObjects(name) {
  let report = null;
  return () => {
    report ??= get(`${deploymentPath(name)}/drift`).catch((error) => error);
    return report;
  };
}

async function objectView(node, resource, objects) {
  const report = await objects();
  const parts = [];
  if (report instanceof ApiError) {
    parts.push(h("p", {class: "muted"}, `The live object could not be compared: ${report.message}`));
  } else {
    const entry = report.resources.find((item) => item.resource === node.name);
    if (entry) {
      parts.push(
        h("p", {}, "Live object ", badge(entry.status, "Live"), " checked ", when(report.checkedAt)),
        unifiedDiffView(entry.diff, `Drift of ${node.name}`),
      );
    }
  }
  parts.push(
    h("h3", {}, "Applied object"),
    h("pre", {class: "yaml", tabindex: "0", "aria-label": `Applied object of ${node.name}`}, toYaml(resource?.properties ?? node.properties ?? {})),
  );
  return parts;
}

const OPERATION_COLUMNS = ["Operation", "Status", "Progress", "Started", "Ended"];

function operationsTable(operations) {
  if (!operations.length) return h("p", {class: "muted"}, "No operations.");
  return table("Operations", OPERATION_COLUMNS, operations.map((operation) => tableRow(OPERATION_COLUMNS, [
    link(operationPath(operation.id), operation.type),
    badge(operation.status, "Operation"),
    `${operation.progress.done}/${operation.progress.total}`,
    when(operation.startedAt || operation.createdAt),
    when(operation.endedAt),
  ])));
}
