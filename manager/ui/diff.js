// Line diffs: between two texts (revisions), and the rendering of unified diffs the API
// sends (previews, drift).

import {h} from "./dom.js";

// Beyond this many cells the table of common subsequences is too big to build in a tab;
// the differing middle is then shown as removed and added whole.
const MAX_CELLS = 4_000_000;

/** The lines of `before` and `after` as [{op: " " | "-" | "+", text}], shortest edit. */
export function lineDiff(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const same = (lines) => lines.map((text) => ({op: " ", text}));
  return [
    ...same(a.slice(0, start)),
    ...middleDiff(a.slice(start, endA), b.slice(start, endB)),
    ...same(a.slice(endA)),
  ];
}

function middleDiff(a, b) {
  const removed = a.map((text) => ({op: "-", text}));
  const added = b.map((text) => ({op: "+", text}));
  if (!a.length || !b.length || (a.length + 1) * (b.length + 1) > MAX_CELLS) {
    return [...removed, ...added];
  }
  // common[i][j]: the longest common subsequence of a[i:] and b[j:].
  const width = b.length + 1;
  const common = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      common[i * width + j] = a[i] === b[j]
        ? common[(i + 1) * width + j + 1] + 1
        : Math.max(common[(i + 1) * width + j], common[i * width + j + 1]);
    }
  }
  const lines = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      lines.push({op: " ", text: a[i]});
      i += 1;
      j += 1;
    } else if (common[(i + 1) * width + j] >= common[i * width + j + 1]) {
      lines.push(removed[i]);
      i += 1;
    } else {
      lines.push(added[j]);
      j += 1;
    }
  }
  return [...lines, ...removed.slice(i), ...added.slice(j)];
}

/** The diff's changed lines with `context` unchanged lines around them; gaps shown as "…". */
export function hunks(lines, context = 3) {
  const keep = new Array(lines.length).fill(false);
  lines.forEach((line, index) => {
    if (line.op === " ") return;
    for (let k = Math.max(0, index - context); k <= Math.min(lines.length - 1, index + context); k += 1) {
      keep[k] = true;
    }
  });
  const shown = [];
  lines.forEach((line, index) => {
    if (keep[index]) shown.push(line);
    else if (index === 0 || keep[index - 1]) shown.push({op: "…", text: ""});
  });
  return shown;
}

/** A diff as a <pre>: removed lines red, added lines green. */
export function diffView(lines, label) {
  if (!lines.some((line) => line.op === "+" || line.op === "-")) {
    return h("p", {class: "muted"}, "No differences.");
  }
  return h(
    "pre",
    {class: "diff", "aria-label": label, tabindex: "0"},
    lines.map((line) => h("span", {class: lineClass(line.op)}, `${line.op} ${line.text}\n`)),
  );
}

/** A unified diff's text (as the API sends it) as a <pre> with coloured lines. */
export function unifiedDiffView(text, label) {
  if (!text) return h("p", {class: "muted"}, "No differences.");
  return h(
    "pre",
    {class: "diff", "aria-label": label, tabindex: "0"},
    text.replace(/\n$/, "").split("\n").map((line) => {
      const header = line.startsWith("+++") || line.startsWith("---") || line.startsWith("@@");
      const op = header ? "@" : line[0];
      return h("span", {class: lineClass(op)}, `${line}\n`);
    }),
  );
}

function lineClass(op) {
  return {"-": "removed", "+": "added", "@": "hunk", "…": "gap"}[op] || "same";
}
