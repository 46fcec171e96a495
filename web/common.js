// Shared by the staff console and the self-service page: the API client,
// the language, and building the page. Every value goes into the page as
// text (textContent / createTextNode), never as markup.

const LANG_KEY = "rekisteri-lang";

export function getLang() {
  const l = localStorage.getItem(LANG_KEY);
  return l === "en" ? "en" : "fi";
}

export function setLang(l) {
  localStorage.setItem(LANG_KEY, l === "en" ? "en" : "fi");
  document.documentElement.lang = getLang();
}

let dict = { fi: {}, en: {} };

export function useTexts(texts) {
  dict = texts;
}

// A text of the interface in the chosen language; {name} is replaced
// from vars (as text: the result is only ever set as textContent).
export function t(key, vars) {
  let s = dict[getLang()][key] ?? dict.fi[key] ?? key;
  if (vars) {
    for (const [k, v] of Object.entries(vars)) s = s.split("{" + k + "}").join(String(v));
  }
  return s;
}

// A policy label {fi, en} in the chosen language.
export function pick(label, fallback) {
  if (label == null) return fallback ?? "";
  if (typeof label === "string") return label;
  return label[getLang()] || label.fi || label.en || fallback || "";
}

// el("tag", {class, id, for, type, ..., on: {click: fn}}, children...):
// children are nodes or strings; strings become text nodes.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === "on") {
        for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
      } else if (k === "class") {
        e.className = v;
      } else if (k === "text") {
        e.textContent = v;
      } else if (k === "value") {
        e.value = v;
      } else {
        e.setAttribute(k, v === true ? "" : String(v));
      }
    }
  }
  append(e, children);
  return e;
}

function append(e, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(e, c);
    else if (c instanceof Node) e.appendChild(c);
    else e.appendChild(document.createTextNode(String(c)));
  }
}

// Appends children as el() does (null and false are skipped, strings
// become text), unlike the DOM's append, which would write "null".
export function add(e, ...children) {
  append(e, children);
  return e;
}

export function clear(e) {
  while (e.firstChild) e.removeChild(e.firstChild);
  return e;
}

// The API. token: Authorization bearer; purpose: Rekisteri-Purpose.
// Answers {status, ok, data (parsed JSON or text)}.
export async function api(method, path, opts = {}) {
  const headers = {};
  if (opts.token) headers["Authorization"] = "Bearer " + opts.token;
  if (opts.purpose) headers["Rekisteri-Purpose"] = opts.purpose;
  if (opts.ifMatch) headers["If-Match"] = opts.ifMatch;
  if (opts.idempotencyKey) headers["Idempotency-Key"] = opts.idempotencyKey;
  let body;
  if (opts.form !== undefined) {
    body = opts.form; // multipart: the browser writes the Content-Type and its boundary
  } else if (opts.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: "no-store", credentials: "omit" });
  } catch (e) {
    return { status: 0, ok: false, data: { error: { code: "network", message: String(e) } } };
  }
  const ct = res.headers.get("Content-Type") || "";
  let data = null;
  if (opts.blob && res.ok) {
    data = await res.blob();
  } else if (ct.startsWith("application/json")) {
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
  } else {
    data = await res.text();
  }
  return { status: res.status, ok: res.ok, data, etag: res.headers.get("ETag") };
}

export function errText(r) {
  if (r.data && r.data.error) return r.data.error.message + " (" + r.status + ")";
  return "HTTP " + r.status;
}

// A date or time as the reader's language writes it.
export function fmtDate(v) {
  if (v == null || v === "") return "—";
  let d;
  if (typeof v === "number") d = new Date(v * 1000);
  else if (/^\d{4}-\d{2}-\d{2}$/.test(v)) d = new Date(v + "T00:00:00");
  else d = new Date(v);
  if (isNaN(d.getTime())) return String(v);
  const loc = getLang() === "fi" ? "fi-FI" : "en-GB";
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v)) return d.toLocaleDateString(loc);
  return d.toLocaleString(loc, { dateStyle: "medium", timeStyle: "short" });
}

// Saves text as a file through a blob link (no URL carries data).
export function download(name, text, type) {
  const blob = text instanceof Blob ? text : new Blob([text], { type: type || "application/json" });
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: name, class: "hidden" });
  document.body.appendChild(a);
  a.click();
  setTimeout(() => {
    URL.revokeObjectURL(url);
    a.remove();
  }, 1000);
}

// A status line read out by screen readers.
export function announce(region, text, kind) {
  clear(region);
  region.className = "notice " + (kind || "info");
  region.appendChild(document.createTextNode(text));
}
