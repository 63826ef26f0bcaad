// Small helpers that build the pages' DOM: elements, badges, times, errors, confirmations.

/** An element: h("a", {href: "#/x", class: "link"}, "text", child, ...). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "text") element.textContent = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return element;
}

/** A status word as a coloured badge; the colour comes from the word. */
export function badge(status, label) {
  const word = status || "—";
  const tone = TONES[word] || "neutral";
  const named = label ? `${label}: ${status || "not known"}` : undefined;
  return h("span", {class: `badge ${tone}`, title: named}, word);
}

const TONES = {
  Deployed: "good", Succeeded: "good", Healthy: "good", InSync: "good", Created: "good",
  Unchanged: "good", unchanged: "neutral",
  Deploying: "busy", Updating: "busy", Deleting: "busy", Running: "busy", Pending: "neutral",
  Progressing: "busy", Applying: "busy", update: "busy", create: "good",
  Failed: "bad", Degraded: "bad", Missing: "bad", Aborted: "bad", Cancelled: "bad",
  OutOfSync: "bad", Modified: "bad", delete: "bad", Deleted: "neutral",
};

/** An RFC 3339 time as a <time> element showing the local time. */
export function when(iso) {
  if (!iso) return h("span", {}, "—");
  const date = new Date(iso);
  return h("time", {datetime: iso, title: iso}, date.toLocaleString());
}

/** An error as a box with the API's message. */
export function errorBox(error) {
  const status = error.status ? `${error.status}: ` : "";
  return h("div", {class: "error", role: "alert"}, `${status}${error.message}`);
}

/** A page heading with an optional line of badges or links beside it. */
export function heading(title, ...beside) {
  return h("div", {class: "heading"}, h("h1", {}, title), ...beside);
}

/** Ask before doing something: resolves true when the user confirms `text`. */
export function confirmAction(title, text, action) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), {once: true});
  });
}

/** A link to a page of the UI. */
export function link(path, ...children) {
  return h("a", {href: `#${path}`}, ...children);
}

export function deploymentPath(name) {
  return `/deployments/${encodeURIComponent(name)}`;
}

export function operationPath(id) {
  return `/operations/${encodeURIComponent(id)}`;
}

/** A button that asks `ask()` → {title, text, action} first, then runs `run()`;
 * an error shows in `messages` with the API's message. */
export function actionButton(label, ask, run, messages, attributes = {}) {
  const button = h("button", {type: "button", ...attributes}, label);
  button.addEventListener("click", async () => {
    const {title, text, action} = ask();
    if (!(await confirmAction(title, text, action))) return;
    button.disabled = true;
    messages.replaceChildren();
    try {
      await run();
    } catch (error) {
      messages.replaceChildren(errorBox(error));
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** Go to a page of the UI. */
export function go(path) {
  location.hash = `#${path}`;
}

/** A table with a header row of `columns` over `rows` (see tableRow); on a phone-sized
 * window each row becomes a card of "column value" lines. */
export function table(label, columns, rows) {
  return h(
    "div",
    {class: "scroll"},
    h(
      "table",
      {class: "cards", "aria-label": label},
      h("thead", {}, h("tr", {}, columns.map((title) => h("th", {scope: "col"}, title)))),
      h("tbody", {}, rows),
    ),
  );
}

/** A row of `cells` under `columns`; the first cell heads the row. */
export function tableRow(columns, cells, attributes = {}) {
  return h("tr", attributes, cells.map((cell, index) => h(
    index ? "td" : "th",
    {scope: index ? undefined : "row", "data-label": columns[index]},
    cell,
  )));
}
