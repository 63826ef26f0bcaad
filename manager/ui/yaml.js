// JSON values written as YAML, the way configurations are read: for showing objects and
// for diffing revisions line by line.

const PLAIN = /^(?:[A-Za-z0-9_./]|-(?=\S)(?!--))[A-Za-z0-9_./ -]*$/;
const LOOKS_TYPED = /^(true|false|null|yes|no|on|off|~|[-+]?[0-9.][0-9._e+-]*)$/i;

function scalar(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value !== "string") return String(value);
  if (value && PLAIN.test(value) && !LOOKS_TYPED.test(value) && !value.endsWith(" ")) return value;
  return JSON.stringify(value);
}

function isEmpty(value) {
  return typeof value === "object" && value !== null && Object.keys(value).length === 0;
}

/** `value` as YAML lines, indented by `indent` spaces. */
function lines(value, indent) {
  const pad = " ".repeat(indent);
  if (Array.isArray(value)) {
    return value.flatMap((item) => {
      if (typeof item !== "object" || item === null || isEmpty(item)) {
        return [`${pad}- ${isEmpty(item) ? (Array.isArray(item) ? "[]" : "{}") : scalar(item)}`];
      }
      const inner = lines(item, indent + 2);
      return [`${pad}- ${inner[0].trimStart()}`, ...inner.slice(1)];
    });
  }
  return Object.entries(value).flatMap(([key, item]) => {
    const name = scalar(key);
    if (typeof item === "object" && item !== null && !isEmpty(item)) {
      return [`${pad}${name}:`, ...lines(item, Array.isArray(item) ? indent : indent + 2)];
    }
    const text = isEmpty(item) ? (Array.isArray(item) ? "[]" : "{}") : scalar(item);
    return [`${pad}${name}: ${text}`];
  });
}

/** A JSON value as YAML text. */
export function toYaml(value) {
  if (typeof value !== "object" || value === null) return scalar(value);
  if (isEmpty(value)) return Array.isArray(value) ? "[]" : "{}";
  return lines(value, 0).join("\n");
}
