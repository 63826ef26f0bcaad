// The UI's router: every page has its own address under #/, so links, reloads and the
// browser's history work. A page is a function that fills a view; the router gives it
// an AbortSignal that fires when the user leaves it.

import {forgetToken, saveToken, savedToken, tokenHooks} from "./api.js";
import {errorBox, h} from "./dom.js";
import {deploymentPage} from "./pages/deployment.js";
import {deploymentsPage} from "./pages/deployments.js";
import {operationPage} from "./pages/operation.js";
import {previewPage} from "./pages/preview.js";
import {revisionsPage} from "./pages/revisions.js";

const ROUTES = [
  [/^\/deployments\/?$/, deploymentsPage],
  [/^\/deployments\/([^/]+)\/revisions$/, revisionsPage],
  [/^\/deployments\/([^/]+)\/preview$/, previewPage],
  [/^\/deployments\/([^/]+)$/, deploymentPage],
  [/^\/operations\/([^/]+)$/, operationPage],
];

const main = document.getElementById("main");
let leaving = new AbortController();

function show(view, title) {
  leaving.abort();
  leaving = new AbortController();
  main.replaceChildren(view);
  // Screen readers start reading the new page, as after a page load.
  main.focus({preventScroll: true});
  document.title = title ? `${title} · Deployment Manager` : "Deployment Manager";
  document.getElementById("forget-token").hidden = !savedToken();
  return leaving.signal;
}

async function route() {
  const path = decodeURI(location.hash.replace(/^#/, "")) || "/deployments";
  const found = ROUTES.map(([pattern, page]) => [path.match(pattern), page]).find(([m]) => m);
  const view = h("div", {class: "view"});
  if (!found) {
    show(view, "Not found");
    view.append(h("h1", {}, "Not found"), h("p", {}, `No page at ${path}. `, h("a", {href: "#/deployments"}, "See the deployments.")));
    return;
  }
  const [match, page] = found;
  const signal = show(view, null);
  try {
    await page(view, match.slice(1).map(decodeURIComponent), signal);
  } catch (error) {
    if (error.name === "AbortError" || signal.aborted) return;
    view.append(errorBox(error));
  }
}

/** The page that asks for the API token, with what the API said about the last one. */
function askForToken(error) {
  const input = h("input", {id: "token", type: "password", autocomplete: "off", required: true});
  const form = h(
    "form",
    {
      class: "token",
      onsubmit: (event) => {
        event.preventDefault();
        saveToken(input.value.trim());
        route();
      },
    },
    h("label", {for: "token"}, "API token"),
    input,
    h("button", {type: "submit"}, "Use token"),
  );
  const view = h(
    "div",
    {class: "view narrow"},
    h("h1", {}, "API token needed"),
    h("p", {}, "This manager asks for an API token. It is kept in this tab only and forgotten when the tab closes."),
    errorBox(error),
    form,
  );
  show(view, "API token");
  input.focus();
}

tokenHooks.required = (error) => {
  if (!document.getElementById("token")) askForToken(error);
};

document.getElementById("forget-token").addEventListener("click", () => {
  forgetToken();
  route();
});
window.addEventListener("hashchange", route);
route();
