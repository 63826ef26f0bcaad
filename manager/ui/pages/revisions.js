// A deployment's revisions: each with its operation's outcome and a rollback, and the
// line diff between any two.

import {change, get} from "../api.js";
import {
  actionButton, badge, deploymentPath, errorBox, go, h, heading, link, operationPath, table, tableRow,
  when,
} from "../dom.js";
import {diffView, hunks, lineDiff} from "../diff.js";
import {toYaml} from "../yaml.js";

const COLUMNS = ["Revision", "Manifest", "Created", "Operation", "Rollback"];

export async function revisionsPage(view, [name], signal) {
  document.title = `Revisions of ${name} · Deployment Manager`;
  const path = deploymentPath(name);
  const [deployment, revisions] = await Promise.all([get(path, signal), get(`${path}/manifests`, signal)]);
  const messages = h("div", {class: "messages", "aria-live": "polite"});
  view.append(
    heading(`Revisions of ${name}`),
    h("p", {}, link(path, `Back to ${name}`)),
    messages,
    table("Revisions", COLUMNS, [...revisions].reverse().map((revision) => revisionRow(deployment, revision, messages))),
  );
  if (revisions.length > 1) view.append(comparison(path, revisions, signal));
}

function revisionRow(deployment, revision, messages) {
  const current = revision.name === deployment.latestManifest;
  const path = deploymentPath(deployment.name);
  const rollback = current
    ? h("span", {class: "muted"}, "current")
    : actionButton(
      "Roll back",
      () => ({
        title: `Roll back ${deployment.name} to revision ${revision.revision}?`,
        text: `The resources of revision ${revision.revision} (${revision.name}) are applied again as a new revision, and resources it lacks are deleted from namespace ${deployment.namespace}.`,
        action: `Roll back to revision ${revision.revision}`,
      }),
      async () => {
        const operation = await change("POST", `${path}/rollback`, {revision: revision.revision}, deployment.fingerprint);
        go(operationPath(operation.id));
      },
      messages,
      {"aria-label": `Roll back to revision ${revision.revision}`},
    );
  return tableRow(COLUMNS, [
    String(revision.revision),
    revision.name,
    when(revision.createdAt),
    revision.operation ? link(operationPath(revision.operation), badge(revision.status, "Operation")) : "—",
    rollback,
  ], {"data-revision": String(revision.revision)});
}

function comparison(path, revisions, signal) {
  const choice = (id, label, selected) => {
    const select = h("select", {id}, revisions.map((revision) => h(
      "option", {value: revision.name, selected: revision === selected}, `${revision.revision} · ${revision.name}`,
    )));
    return [h("label", {for: id}, label), select];
  };
  const [fromLabel, from] = choice("diff-from", "From", revisions[revisions.length - 2]);
  const [toLabel, to] = choice("diff-to", "To", revisions[revisions.length - 1]);
  const [wholeLabel, whole] = [h("label", {for: "diff-whole"}, "Show unchanged lines"), h("input", {id: "diff-whole", type: "checkbox"})];
  const result = h("div", {class: "diff-result"});
  const manifests = new Map();
  const manifest = (name) => {
    if (!manifests.has(name)) manifests.set(name, get(`${path}/manifests/${encodeURIComponent(name)}`, signal));
    return manifests.get(name);
  };
  const update = async () => {
    const [before, after] = await Promise.all([manifest(from.value), manifest(to.value)]);
    const lines = lineDiff(describe(before), describe(after));
    result.replaceChildren(diffView(whole.checked ? lines : hunks(lines), `Changes from revision ${before.revision} to ${after.revision}`));
  };
  const refresh = () => update().catch((error) => result.replaceChildren(errorBox(error)));
  for (const control of [from, to, whole]) control.addEventListener("change", refresh);
  refresh();
  return h(
    "section",
    {"aria-labelledby": "compare-title"},
    h("h2", {id: "compare-title"}, "Compare revisions"),
    h("div", {class: "toolbar"}, fromLabel, from, toLabel, to, h("span", {class: "check"}, whole, wholeLabel)),
    result,
  );
}

// What a revision is, as text to diff: its configuration, then what it expanded into.
function describe(manifest) {
  const expanded = manifest.expandedConfig.resources.map(({name, type, properties}) => ({name, type, properties}));
  return [
    "# configuration",
    manifest.inputConfig.content.replace(/\n$/, ""),
    "# expanded resources",
    toYaml(expanded),
  ].join("\n");
}
