// The staff console: sign in with an actor token, find a subject, view it
// under a purpose, and answer the data subjects' requests. It talks only to
// the /v1 API. The token lives in sessionStorage (gone when the tab
// closes) and travels in the Authorization header only.
import { api, el, add, clear, t, pick, getLang, setLang, useTexts, fmtDate, download, errText, announce } from "./common.js";
import { TEXTS } from "./texts.js";
import { renderReport, purposeCell } from "./report.js";

useTexts(TEXTS);

const TOKEN_KEY = "rekisteri-token";
const IDLE_MS = 15 * 60 * 1000;

const S = {
  token: sessionStorage.getItem(TOKEN_KEY),
  me: null, // whoami
  purpose: null,
  view: "find",
  subject: null, // id
  lastFind: null,
};

const $ = (id) => document.getElementById(id);
const main = () => $("main");

function status(text, kind) {
  const s = $("status");
  s.classList.remove("hidden");
  announce(s, text, kind);
  clearTimeout(status.timer);
  status.timer = setTimeout(() => s.classList.add("hidden"), 6000);
}

function call(method, path, opts = {}) {
  return api(method, path, { token: S.token, purpose: opts.purpose ?? S.purpose, ...opts }).then((r) => {
    if (r.status === 401) signOut(t("session_ended"));
    return r;
  });
}

function labelIn(list, name) {
  const it = (list || []).find((x) => x.name === name);
  return it ? pick(it.label, name) : name;
}

// ---- idle timeout ----
let idleTimer = null;
function touch() {
  if (!S.token) return;
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => signOut(t("idle_out")), IDLE_MS);
}
["keydown", "click", "pointerdown"].forEach((ev) => document.addEventListener(ev, touch, { passive: true }));

function signOut(msg) {
  S.token = null;
  S.me = null;
  sessionStorage.removeItem(TOKEN_KEY);
  clearTimeout(idleTimer);
  renderShell();
  renderSignIn(msg);
}

// ---- shell ----
function renderShell() {
  document.documentElement.lang = getLang();
  document.title = t("console_title");
  $("app-title").textContent = t("console_title");
  $("lang").textContent = getLang() === "fi" ? "In English" : "Suomeksi";
  $("lang").setAttribute("lang", getLang() === "fi" ? "en" : "fi");
  $("signout").textContent = t("sign_out");
  $("signout").classList.toggle("hidden", !S.token);
  const who = clear($("who"));
  const nav = clear($("nav"));
  nav.setAttribute("aria-label", t("menu"));
  nav.classList.toggle("hidden", !S.me);
  if (!S.me) return;
  who.append(el("span", { class: "actor", text: S.me.actor }), " · ", el("span", { class: "role", text: S.me.role || t("administrator") }));
  const items = [
    ["find", t("nav_find")],
    ["requests", t("nav_requests")],
    S.me.audit ? ["audit", t("nav_audit")] : null,
    ["retention", t("nav_retention")],
    ["notice", t("nav_notice")],
  ].filter(Boolean);
  const ul = el("ul");
  for (const [v, label] of items) {
    ul.append(
      el("li", null,
        el("a", {
          href: "#" + v,
          "aria-current": S.view === v || (v === "find" && S.view === "subject") ? "page" : null,
          on: { click: (e) => { e.preventDefault(); go(v); } },
        }, label)));
  }
  nav.append(ul);
}

function go(view, arg) {
  S.view = view;
  if (view === "subject") S.subject = arg;
  renderShell();
  const m = clear(main());
  ({ find: renderFind, subject: renderSubject, requests: renderRequests, audit: renderAudit, retention: renderRetention, notice: renderNotice }[view] || renderFind)(m);
  m.focus();
}

// ---- sign in ----
function renderSignIn(msg) {
  const m = clear(main());
  const input = el("input", { id: "token", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const err = el("p", { id: "signin-error", class: "error", role: "alert" });
  const form = el("form", { class: "card signin", on: { submit: async (e) => {
    e.preventDefault();
    const tok = input.value.trim();
    const r = await api("GET", "/v1/whoami", { token: tok });
    if (!r.ok) {
      err.textContent = r.status === 401 ? t("bad_token") : errText(r);
      input.focus();
      return;
    }
    input.value = "";
    S.token = tok;
    sessionStorage.setItem(TOKEN_KEY, tok);
    S.me = r.data;
    S.purpose = S.me.default_purpose;
    if (!S.me.purposes.some((p) => p.name === S.purpose) && S.me.purposes.length) S.purpose = S.me.purposes[0].name;
    touch();
    go("find");
  } } },
    el("h1", null, t("sign_in")),
    el("p", { class: "muted" }, t("sign_in_help")),
    msg ? el("p", { class: "notice info" }, msg) : null,
    el("label", { for: "token" }, t("token")),
    input,
    err,
    el("button", { type: "submit", class: "primary" }, t("sign_in")));
  m.append(form);
  input.focus();
}

// ---- find ----
function purposeSelect(id, onchange) {
  const sel = el("select", { id, on: { change: (e) => { S.purpose = e.target.value; onchange && onchange(); } } });
  for (const p of S.me.purposes) sel.append(el("option", { value: p.name, selected: p.name === S.purpose }, pick(p.label, p.name)));
  return sel;
}

function renderFind(m) {
  const by = el("select", { id: "find-by" });
  for (const f of S.me.lookup) by.append(el("option", { value: f.name }, pick(f.label, f.name)));
  const val = el("input", { id: "find-value", type: "search", autocomplete: "off", required: true });
  const results = el("div", { id: "find-results", "aria-live": "polite" });
  const form = el("form", { class: "card find", role: "search", on: { submit: async (e) => {
    e.preventDefault();
    clear(results);
    const r = await call("POST", "/v1/lookup", { body: { by: by.value, value: val.value } });
    if (!r.ok) { results.append(el("p", { class: "error", role: "alert" }, errText(r))); return; }
    S.lastFind = { by: by.value };
    if (!r.data.ids.length) { results.append(el("p", { class: "muted" }, t("no_match"))); return; }
    if (r.data.ids.length === 1) { go("subject", r.data.ids[0]); return; }
    const ul = el("ul", { class: "results" });
    for (const id of r.data.ids.slice(0, 20)) {
      const a = el("a", { href: "#subject", on: { click: (ev) => { ev.preventDefault(); go("subject", id); } } }, id);
      ul.append(el("li", null, a, " ", el("span", { class: "mono muted small" }, id.slice(0, 8) + "…")));
      call("GET", "/v1/subjects/" + id).then((g) => { if (g.ok) a.textContent = summaryOf(g.data) || id; });
    }
    results.append(el("section", { class: "card" }, el("h2", null, t("matches", { n: r.data.ids.length })), ul));
  } } },
    el("h1", null, t("nav_find")),
    el("div", { class: "row" },
      el("div", { class: "field" }, el("label", { for: "find-by" }, t("find_by")), by),
      el("div", { class: "field grow" }, el("label", { for: "find-value" }, t("find_value")), val),
      el("div", { class: "field" }, el("label", { for: "find-purpose" }, t("purpose")), purposeSelect("find-purpose"))),
    el("p", { class: "muted small" }, S.me.lookup.some((f) => f.hetu) ? t("hetu_allowed") : t("hetu_not_allowed")),
    el("button", { type: "submit", class: "primary" }, t("search")));
  const banner = el("div", { id: "dsr-banner" });
  m.append(banner, form, results, newSubjectForm());
  val.focus();
  if (S.me.rights) {
    call("GET", "/v1/dsr?limit=1000").then((d) => {
      if (!d.ok) return;
      const open = d.data.items.filter((x) => x.status === "open");
      const over = open.filter((x) => x.overdue).length;
      const soon = new Date(Date.now() + 7 * 86400000).toISOString().slice(0, 10);
      const near = open.filter((x) => !x.overdue && x.deadline <= soon).length;
      if (!open.length) return;
      banner.append(el("a", { href: "#requests", class: "banner " + (over ? "bad" : near ? "warn" : "info"), on: { click: (e) => { e.preventDefault(); go("requests"); } } },
        el("strong", null, t("open_count", { n: open.length })),
        over ? el("span", null, " · " + t("overdue_count", { n: over })) : null,
        near ? el("span", null, " · " + t("due_week", { n: near })) : null));
    });
  }
}

// ---- a subject ----
function section(title, id, ...body) {
  return el("section", { class: "card", "aria-labelledby": id }, el("h2", { id }, title), ...body);
}

async function renderSubject(m) {
  const id = S.subject;
  const title = el("h1", { id: "subject-title" }, t("subject"));
  const head = el("div", { class: "subject-head" },
    el("div", null, title, el("p", { class: "mono muted", id: "subject-id" }, id)),
    el("div", { class: "field" }, el("label", { for: "view-purpose" }, t("view_purpose")), purposeSelect("view-purpose", () => go("subject", id))));
  const body = el("div", { class: "stack" });
  m.append(head, body);
  const r = await call("GET", "/v1/subjects/" + id);
  if (!r.ok) {
    body.append(el("p", { class: "error", role: "alert" }, errText(r)));
    // A restricted person reads under the legal claims purpose only: the
    // restriction must still be visible and liftable from here.
    if (r.status === 403 && S.me.rights) body.append(relationshipCard(id, null), requestsCard(id));
    return;
  }
  const subj = r.data;
  const name = summaryOf(subj);
  if (name) title.textContent = name;
  body.append(valuesCard(subj, r.etag));
  body.append(relationshipCard(id, subj));
  // a link opens all of the person's data: only the roles that handle the
  // subjects' rights may hand one out (the server refuses the others)
  body.append(el("div", { class: "grid2" }, consentCard(id), el("div", { class: "stack" }, contactCard(id), S.me.rights ? linkCard(id) : null)));
  body.append(requestsCard(id));
  body.append(recordsCard(id));
  body.append(reportCard(id));
  if (S.me.audit) body.append(auditCard(id));
  if (S.me.rights) body.append(eraseCard(id));
}

// A short name for a subject: the values of the category its first value
// is in (a name, in most policies), as text.
function summaryOf(subj) {
  const fields = Object.values(subj.fields || {});
  if (!fields.length || !fields[0].length) return "";
  const cat = fields[0][0].category;
  return fields.flat().filter((v) => v.category === cat).map((v) => v.value).join(" ").slice(0, 120);
}

function valuesCard(subj, etag) {
  const tbody = el("tbody");
  const names = Object.keys(subj.fields);
  for (const f of names) {
    const all = subj.fields[f].map((x) => x.value);
    for (const [i, v] of subj.fields[f].entries()) {
      const valueCell = el("td", { class: "value" }, v.value);
      const editBtn = el("button", { type: "button", class: "small ghost", "aria-label": t("edit_field", { f: labelIn(S.me.fields, f) }) }, t("edit"));
      editBtn.addEventListener("click", () => editField(valueCell, editBtn, f, all, i, etag));
      tbody.append(el("tr", null,
        el("th", { scope: "row" }, labelIn(S.me.fields, f)),
        valueCell,
        el("td", null, purposeCell(v.purposes || [], S.purpose, (p) => labelIn(S.me.purposes, p))),
        el("td", null, labelIn(S.me.bases, v.legal_basis)),
        el("td", { class: "src" }, labelIn(S.me.sources, v.source)),
        el("td", null, v.expires ? fmtDate(v.expires) : t("open_ended")),
        el("td", null, editBtn)));
    }
  }
  const rel = subj.relationship || {};
  return section(t("values_under", { p: labelIn(S.me.purposes, subj.purpose) }), "h-values",
    el("p", { class: "muted small" }, t("kind") + ": " + labelIn(S.me.kinds, subj.kind) + " · " + t("relationship") + ": " + fmtDate(rel.start) + " – " + (rel.end ? fmtDate(rel.end) : t("ongoing"))),
    names.length === 0 ? el("p", { class: "muted" }, t("no_values")) :
      el("div", { class: "scroll" }, el("table", { class: "values", id: "values" },
        el("caption", { class: "sr-only" }, t("values")),
        el("thead", null, el("tr", null, [t("field"), t("value"), t("purposes"), t("basis"), t("source"), t("expires"), ""].map((h) => el("th", { scope: "col" }, h)))),
        tbody)),
    addValueForm(subj, etag));
}

// An update replaces a field's values whole: the field's other values go
// with the edited one, or they would be deleted.
function editField(cell, btn, field, values, i, etag) {
  const inputId = "edit-" + field;
  const input = el("input", { id: inputId, value: values[i], class: "grow" });
  const form = el("form", { class: "inline", on: { submit: async (e) => {
    e.preventDefault();
    const next = values.map((v, k) => (k === i ? input.value : v));
    const r = await call("PATCH", "/v1/subjects/" + S.subject, { body: { fields: { [field]: next.length === 1 ? next[0] : next } }, ifMatch: etag });
    if (!r.ok) { status(r.status === 412 ? t("changed_meanwhile") : errText(r), "error"); return; }
    status(t("saved"), "ok");
    go("subject", S.subject);
  } } },
    el("label", { for: inputId, class: "sr-only" }, labelIn(S.me.fields, field)), input,
    el("button", { type: "submit", class: "small primary" }, t("save")),
    el("button", { type: "button", class: "small ghost", on: { click: () => go("subject", S.subject) } }, t("cancel")));
  clear(cell).append(form);
  btn.disabled = true;
  input.focus();
}

// The relationship's end (and undoing one given by mistake), the subject's
// kind, and the restriction of processing (GDPR Art. 18). subj is null when
// the subject could not be read under the chosen purpose.
function relationshipCard(id, subj) {
  const parts = [];
  const done = (r, text) => {
    if (!r.ok) { status(errText(r), "error"); return; }
    status(text || t("saved"), "ok");
    go("subject", id);
  };
  if (subj) {
    const rel = subj.relationship || {};
    if (rel.end) {
      parts.push(el("div", { class: "row", id: "rel-ended" },
        el("p", null, t("ended_on", { d: fmtDate(rel.end) })),
        el("button", { type: "button", id: "rel-undo", class: "small", on: { click: async () => {
          done(await call("DELETE", "/v1/subjects/" + id + "/end"));
        } } }, t("end_undo"))));
    } else {
      const date = el("input", { id: "rel-end-date", type: "date", required: true, value: new Date().toISOString().slice(0, 10) });
      parts.push(el("form", { class: "inline", id: "rel-end", on: { submit: async (e) => {
        e.preventDefault();
        done(await call("POST", "/v1/subjects/" + id + "/end", { body: { date: date.value } }));
      } } }, el("label", { for: "rel-end-date" }, t("end_date")), date,
        el("button", { type: "submit", class: "small" }, t("end_rel"))));
    }
    const kinds = (S.me.kinds || []).filter((k) => k.name !== subj.kind);
    if (kinds.length) {
      const kind = el("select", { id: "rel-kind" }, kinds.map((k) => el("option", { value: k.name }, pick(k.label, k.name))));
      const drop = el("input", { type: "checkbox", id: "rel-drop" });
      parts.push(el("form", { class: "inline", id: "rel-convert", on: { submit: async (e) => {
        e.preventDefault();
        const r = await call("POST", "/v1/subjects/" + id + "/convert", { body: { kind: kind.value, drop_disallowed: drop.checked } });
        const d = r.ok ? r.data : {};
        done(r, d.dropped ? t("converted_dropped", { f: d.dropped.split(",").map((f) => labelIn(S.me.fields, f)).join(", ") })
          : d.customer_number_issued ? t("converted_number") : t("converted"));
      } } }, el("label", { for: "rel-kind" }, t("new_kind")), kind,
        el("span", { class: "check" }, drop, el("label", { for: "rel-drop" }, t("drop_disallowed"))),
        el("button", { type: "submit", class: "small" }, t("change_kind"))));
    }
  }
  if (S.me.rights) {
    const box = el("div", { id: "restriction" }, el("p", { class: "muted" }, t("loading")));
    parts.push(el("h3", null, t("restriction")), el("p", { class: "muted small" }, t("restricted_help")), box);
    (async () => {
      const r = await call("GET", "/v1/subjects/" + id + "/restriction");
      clear(box);
      if (!r.ok) { box.append(el("p", { class: "error" }, errText(r))); return; }
      const on = r.data.restricted;
      const reason = el("input", { id: "restrict-reason", required: true, autocomplete: "off", class: "grow" });
      box.append(el("p", null, el("span", { class: "pill " + (on ? "warn" : "off"), id: "restricted-state" }, on ? t("restricted_yes") : t("restricted_no"))),
        el("form", { class: "inline", id: "restrict-form", on: { submit: async (e) => {
          e.preventDefault();
          done(await call("POST", "/v1/subjects/" + id + (on ? "/unrestrict" : "/restrict"), { body: { reason: reason.value } }));
        } } }, el("label", { for: "restrict-reason" }, t("restrict_reason")), reason,
          el("button", { type: "submit", class: "small" + (on ? "" : " danger") }, on ? t("unrestrict_now") : t("restrict_now"))));
    })();
  }
  return section(t("rel_title"), "h-rel", ...parts);
}

function consentCard(id) {
  const box = el("div", null, el("p", { class: "muted" }, t("loading")));
  const card = section(t("consents"), "h-consents", box);
  (async () => {
    const r = await call("GET", "/v1/subjects/" + id + "/consents");
    clear(box);
    if (!r.ok) { box.append(el("p", { class: "error" }, errText(r))); return; }
    const ledger = r.data;
    const state = {};
    for (const e of ledger) state[e.kind + ":" + e.scope] = e.given;
    const list = el("ul", { class: "toggles" });
    for (const o of S.me.objections) {
      const on = !!state["objection:" + o.name];
      list.append(toggleRow(pick(o.label, o.name), on, on ? t("in_force") : t("not_in_force"),
        on ? t("lift") : t("record"), async () => {
          const rr = await call("POST", "/v1/subjects/" + id + "/objections", { body: { objection: o.name, lift: on, channel: "console" } });
          rr.ok ? (status(t("saved"), "ok"), go("subject", id)) : status(errText(rr), "error");
        }, on ? "warn" : null, "objection-" + o.name));
    }
    for (const s of S.me.scopes) {
      const on = !!state["consent:" + s.name];
      list.append(toggleRow(pick(s.label, s.name), on, on ? t("given") : t("not_given"),
        on ? t("withdraw") : t("give"), async () => {
          const rr = await call("POST", "/v1/subjects/" + id + "/consents", { body: { scope: s.name, given: !on, channel: "console" } });
          rr.ok ? (status(t("saved"), "ok"), go("subject", id)) : status(errText(rr), "error");
        }, null, "consent-" + s.name));
    }
    box.append(list);
    const hist = el("details", null, el("summary", null, t("history", { n: ledger.length })),
      ledger.length === 0 ? el("p", { class: "muted" }, t("none")) :
        el("ol", { class: "history" }, ledger.slice().reverse().map((e) => el("li", null,
          el("span", { class: "when" }, fmtDate(e.at)), " ",
          e.scope === "rk:restriction" ? t("restriction") : e.kind === "action" && e.scope === "rk:cookie_reset" ? t("cookie_reset_entry") : labelIn(e.kind === "objection" ? S.me.objections : S.me.scopes, e.scope), ": ",
          el("strong", null, e.kind === "action" ? t("done_entry") : e.given ? (e.kind === "objection" ? t("in_force") : t("given")) : (e.kind === "objection" ? t("lifted") : t("withdrawn"))),
          el("span", { class: "muted small" }, " · " + e.channel + " · " + (e.actor || ""))))));
    box.append(hist);
  })();
  return card;
}

function toggleRow(label, on, stateText, action, fn, kind, key) {
  return el("li", { class: "toggle" + (on ? " on" : ""), "data-key": key },
    el("span", { class: "t-label" }, label),
    el("span", { class: "pill " + (on ? (kind || "ok") : "off") }, stateText),
    el("button", { type: "button", class: "small", on: { click: fn } }, action));
}

function contactCard(id) {
  const box = el("div", null);
  const chan = el("select", { id: "mc-channel" }, ["email", "sms", "phone", "post"].map((c) => el("option", { value: c }, t("ch_" + c))));
  const check = async () => {
    clear(box);
    const r = await call("GET", "/v1/subjects/" + id + "/may-contact?channel=" + encodeURIComponent(chan.value) + "&for=own");
    if (!r.ok) { box.append(el("p", { class: "error" }, errText(r))); return; }
    box.append(el("p", { class: "decision " + (r.data.allowed ? "yes" : "no"), id: "may-contact" },
      el("strong", null, r.data.allowed ? t("may_contact_yes") : t("may_contact_no"))),
      el("p", { class: "muted small" }, t("reason") + ": " + r.data.rule));
  };
  chan.addEventListener("change", check);
  check();
  return section(t("may_contact"), "h-contact", el("div", { class: "field" }, el("label", { for: "mc-channel" }, t("channel")), chan), box);
}

function recordsCard(id) {
  const box = el("div", { id: "records-box" }, el("p", { class: "muted" }, t("loading")));
  const type = el("select", { id: "rec-type" }, el("option", { value: "" }, t("all_types")), S.me.record_types.map((rt) => el("option", { value: rt.name }, pick(rt.label, rt.name))));
  const load = async () => {
    const q = type.value ? "?type=" + encodeURIComponent(type.value) : "";
    const r = await call("GET", "/v1/subjects/" + id + "/records" + q);
    clear(box);
    if (!r.ok) { box.append(el("p", { class: "error" }, errText(r))); return; }
    if (!r.data.items.length) { box.append(el("p", { class: "muted" }, t("no_records"))); return; }
    const ul = el("ul", { class: "records" });
    for (const rec of r.data.items) {
      const fields = rec.fields || {};
      ul.append(el("li", null,
        el("div", null, el("strong", null, labelIn(S.me.record_types, rec.type)), el("span", { class: "muted small" }, " #" + (rec.id ?? rec.record ?? "") + " · " + fmtDate(rec.created_at ?? rec.at))),
        el("dl", { class: "kv" }, Object.entries(fields).map(([k, v]) => [el("dt", null, labelIn((S.me.record_types.find((x) => x.name === rec.type) || {}).fields, k)), el("dd", null, Array.isArray(v) ? v.join(", ") : String(v))])),
        rec.attachment ? el("p", { class: "small" }, t("attachment") + ": " + (rec.attachment.type || "") + ", " + (rec.attachment.size ?? "") + " B ",
          el("button", { type: "button", class: "small", on: { click: async () => {
            const a = await call("GET", "/v1/subjects/" + id + "/records/" + rec.id + "/attachment", { blob: true });
            if (!a.ok) { status(errText(a), "error"); return; }
            download("attachment-" + rec.id, a.data);
            status(t("downloaded"), "ok");
          } } }, t("download"))) : null));
    }
    box.append(ul);
  };
  type.addEventListener("change", load);
  load();
  return section(t("records"), "h-records", el("div", { class: "field" }, el("label", { for: "rec-type" }, t("record_type")), type), box, addRecordForm(id, load));
}

// An input for a field of the policy as whoami describes it (type, enum
// values, longest text), in a labelled box; the server validates as always.
function fieldInput(f, prefix, required) {
  const fid = prefix + f.name;
  let input;
  if (f.type === "enum") input = el("select", { id: fid }, el("option", { value: "" }, "—"), (f.values || []).map((v) => el("option", { value: v }, v)));
  else if (f.multiline) input = el("textarea", { id: fid, rows: 3 });
  else input = el("input", { id: fid, autocomplete: "off", spellcheck: "false",
    type: f.type === "date" ? "date" : f.type === "integer" ? "number" : f.type === "password" ? "password" :
      f.type === "email" ? "email" : f.type === "phone" ? "tel" : "text",
    step: f.type === "integer" ? "1" : null,
    max: f.type === "date" && f.past ? new Date().toISOString().slice(0, 10) : null,
    inputmode: f.type === "decimal" ? "decimal" : null });
  if (required) input.required = true;
  if (f.max_length) input.setAttribute("maxlength", String(f.max_length));
  input.dataset.field = f.name;
  input.dataset.type = f.type;
  return el("div", { class: "field" }, el("label", { for: fid }, pick(f.label, f.name) + (required ? " " + t("required_mark") : "")), input);
}

// The values a form's inputs hold; an empty optional field is absent.
function formValues(box) {
  const fields = {};
  for (const i of box.querySelectorAll("[data-field]")) {
    const v = i.value.trim();
    if (v === "") continue;
    fields[i.dataset.field] = i.dataset.type === "integer" && /^-?\d+$/.test(v) ? Number(v) : v;
  }
  return fields;
}

// A subject's field that a person of kind may be given when added: not one
// the register issues itself, nor one that needs a consent first (consents
// are recorded once the person exists).
function addableField(f, kind) {
  return f.type !== "customer_number" && !f.consent && (!f.kinds || f.kinds.includes(kind));
}

// A random Idempotency-Key per form: a second click or a retry after a lost
// answer gets the first answer again instead of a second person.
function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

// A creating form's submit handler: one request at a time, each under the
// form's Idempotency-Key, so a double click or a retry after a lost answer
// creates one. send(key) makes the call and answers the API's result. A
// success or a refusal (4xx: nothing was created) ends that request, and
// the next one takes a new key; a lost answer (a network error, 5xx) keeps
// it for the retry.
function onceEach(send) {
  let key = newKey(), busy = false;
  return async (e) => {
    e.preventDefault();
    if (busy) return;
    busy = true;
    let r;
    try {
      r = await send(key);
    } finally {
      busy = false;
    }
    if (r && (r.ok || (r.status >= 400 && r.status < 500))) key = newKey();
  };
}

// Adding a person: the kind, then the fields the policy lets that kind hold
// and the role see, the kind's required ones marked. Saved under the purpose
// chosen above; the server checks the role, the purpose and every value.
function newSubjectForm() {
  const kinds = S.me.kinds || [];
  if (!kinds.length) return null;
  const kind = el("select", { id: "new-kind" }, kinds.map((k) => el("option", { value: k.name }, pick(k.label, k.name))));
  const inputs = el("div", { class: "stack", id: "new-fields" });
  const err = el("p", { class: "error", role: "alert", id: "new-error" });
  const make = () => {
    clear(inputs);
    const k = kinds.find((x) => x.name === kind.value) || { required: [] };
    const req = new Set(k.required || []);
    for (const f of S.me.fields || []) {
      if (!f.type || !addableField(f, kind.value)) continue;
      inputs.append(fieldInput(f, "new-f-", req.has(f.name)));
    }
  };
  kind.addEventListener("change", make);
  make();
  return el("details", { class: "card", id: "new-subject" }, el("summary", null, t("new_subject")),
    el("form", { class: "stack", on: { submit: onceEach(async (key) => {
      err.textContent = "";
      const r = await call("POST", "/v1/subjects", { body: { kind: kind.value, fields: formValues(inputs) }, idempotencyKey: key });
      if (!r.ok) {
        err.textContent = errText(r);
        return r;
      }
      status(t("subject_added"), "ok");
      go("subject", r.data.id);
      return r;
    }) } },
      el("p", { class: "muted small" }, t("new_subject_help")),
      el("div", { class: "field" }, el("label", { for: "new-kind" }, t("kind")), kind), inputs, err,
      el("button", { type: "submit", class: "primary" }, t("add_subject"))));
}

// A value for a field the person has none of: only fields that serve the
// purpose the page shows, so that an absent row means no value at all (an
// update replaces a field's values).
function addValueForm(subj, etag) {
  const free = (S.me.fields || []).filter((f) => f.type && addableField(f, subj.kind) &&
    (f.purposes || []).includes(subj.purpose) && !(subj.fields || {})[f.name]);
  if (!free.length) return null;
  const field = el("select", { id: "add-value-field" }, free.map((f) => el("option", { value: f.name }, pick(f.label, f.name))));
  const box = el("div", { class: "stack", id: "add-value-box" });
  const make = () => {
    clear(box);
    const f = free.find((x) => x.name === field.value);
    if (f) box.append(fieldInput(f, "add-v-", true));
  };
  field.addEventListener("change", make);
  make();
  return el("details", { id: "add-value" }, el("summary", null, t("add_value")),
    el("form", { class: "stack", on: { submit: async (e) => {
      e.preventDefault();
      const r = await call("PATCH", "/v1/subjects/" + S.subject, { body: { fields: formValues(box) }, ifMatch: etag });
      if (!r.ok) { status(r.status === 412 ? t("changed_meanwhile") : errText(r), "error"); return; }
      status(t("saved"), "ok");
      go("subject", S.subject);
    } } }, el("div", { class: "field" }, el("label", { for: "add-value-field" }, t("field")), field), box,
      el("button", { type: "submit", class: "small primary" }, t("save"))));
}

// A form for a record of a chosen type, its inputs made from the policy's
// field types (whoami's record_types); the server validates as always.
function addRecordForm(id, reload) {
  const types = S.me.record_types || [];
  if (!types.length) return null;
  const type = el("select", { id: "rec-add-type" }, types.map((rt) => el("option", { value: rt.name }, pick(rt.label, rt.name))));
  const inputs = el("div", { class: "stack", id: "rec-add-fields" });
  const make = () => {
    clear(inputs);
    const rt = types.find((x) => x.name === type.value) || { fields: [] };
    for (const f of rt.fields) inputs.append(fieldInput(f, "rec-f-", f.required));
    // a type that may carry an attachment: the file goes in the same call
    if (rt.attachment) inputs.append(el("div", { class: "field" }, el("label", { for: "rec-add-file" }, t("attachment")), el("input", { id: "rec-add-file", type: "file" })));
  };
  type.addEventListener("change", make);
  make();
  return el("details", { id: "rec-add" }, el("summary", null, t("add_record")),
    el("form", { class: "stack", on: { submit: onceEach(sendRecord) } }, el("div", { class: "field" }, el("label", { for: "rec-add-type" }, t("record_type")), type), inputs,
      el("button", { type: "submit", class: "small primary" }, t("add"))));

  async function sendRecord(key) {
    const rec = { type: type.value, fields: formValues(inputs) };
    const file = inputs.querySelector("#rec-add-file");
    let r;
    if (file && file.files.length) {
      const fd = new FormData();
      fd.append("record", new Blob([JSON.stringify(rec)], { type: "application/json" }), "record.json");
      const f = file.files[0];
      fd.append("attachment", new Blob([f], { type: f.type || "application/octet-stream" }), "attachment");
      r = await call("POST", "/v1/subjects/" + id + "/records", { form: fd, idempotencyKey: key });
    } else {
      r = await call("POST", "/v1/subjects/" + id + "/records", { body: rec, idempotencyKey: key });
    }
    if (!r.ok) {
      status(errText(r), "error");
      return r;
    }
    status(t("record_added", { n: r.data.record }), "ok");
    make();
    reload();
    return r;
  }
}

function dsrTable(items, withSubject) {
  const today = new Date().toISOString().slice(0, 10);
  const tbody = el("tbody");
  for (const d of items) {
    const overdue = d.overdue || (d.status === "open" && d.deadline < today);
    const actions = el("td", { class: "actions" });
    if (d.status === "open" && S.me.rights) {
      actions.append(
        el("button", { type: "button", class: "small", on: { click: () => dsrExtend(d, actions) } }, t("extend")),
        el("button", { type: "button", class: "small", on: { click: () => dsrClose(d, actions) } }, t("close")));
    }
    tbody.append(el("tr", { class: overdue ? "overdue" : d.status === "closed" ? "closed" : "", "data-number": d.number },
      el("td", null, "#" + d.number),
      el("td", null, t("dsr_" + d.type)),
      withSubject ? el("td", { class: "mono small" }, d.subject ? el("a", { href: "#subject", on: { click: (e) => { e.preventDefault(); go("subject", d.subject); } } }, d.subject.slice(0, 8) + "…") : "—") : null,
      el("td", null, fmtDate(d.received)),
      el("td", null, el("span", { class: "pill " + (overdue ? "bad" : d.status === "open" ? "warn" : "off") }, fmtDate(d.deadline) + (overdue ? " · " + t("overdue") : ""))),
      el("td", null, d.status === "open" ? t("open") : t("closed_as", { o: t("out_" + d.outcome) })),
      actions));
  }
  return el("div", { class: "scroll" }, el("table", { class: "dsr" },
    el("thead", null, el("tr", null, ["#", t("type"), withSubject ? t("subject") : null, t("received"), t("deadline"), t("state"), ""].filter((x) => x !== null).map((h) => el("th", { scope: "col" }, h)))),
    tbody));
}

function dsrExtend(d, cell) {
  const inp = el("input", { id: "extend-reason-" + d.number, required: true });
  clear(cell).append(el("form", { class: "inline", on: { submit: async (e) => {
    e.preventDefault();
    const r = await call("POST", "/v1/dsr/" + d.number + "/extend", { body: { reason: inp.value } });
    r.ok ? (status(t("saved"), "ok"), go(S.view, S.subject)) : status(errText(r), "error");
  } } }, el("label", { for: inp.id }, t("reason")), inp, el("button", { type: "submit", class: "small primary" }, t("extend"))));
  inp.focus();
}

function dsrClose(d, cell) {
  const sel = el("select", { id: "close-outcome-" + d.number }, el("option", { value: "done" }, t("out_done")), el("option", { value: "refused" }, t("out_refused")));
  clear(cell).append(el("form", { class: "inline", on: { submit: async (e) => {
    e.preventDefault();
    const r = await call("POST", "/v1/dsr/" + d.number + "/close", { body: { outcome: sel.value } });
    r.ok ? (status(t("saved"), "ok"), go(S.view, S.subject)) : status(errText(r), "error");
  } } }, el("label", { for: sel.id }, t("outcome")), sel, el("button", { type: "submit", class: "small primary" }, t("close"))));
  sel.focus();
}

function requestsCard(id) {
  const box = el("div", null);
  const type = el("select", { id: "dsr-type" }, ["access", "rectification", "erasure", "restriction", "portability", "objection"].map((x) => el("option", { value: x }, t("dsr_" + x))));
  const load = async () => {
    const r = await call("GET", "/v1/dsr?all=1&limit=1000");
    clear(box);
    if (!r.ok) { box.append(el("p", { class: "muted" }, r.status === 403 ? t("rights_only") : errText(r))); return; }
    const mine = r.data.items.filter((d) => d.subject === id);
    box.append(mine.length ? dsrTable(mine, false) : el("p", { class: "muted" }, t("no_requests")));
  };
  load();
  return section(t("requests"), "h-requests",
    S.me.rights ? el("form", { class: "inline", on: { submit: async (e) => {
      e.preventDefault();
      const r = await call("POST", "/v1/dsr", { body: { subject: id, type: type.value } });
      r.ok ? (status(t("request_opened", { n: r.data.number }), "ok"), load()) : status(errText(r), "error");
    } } }, el("label", { for: "dsr-type" }, t("new_request")), type, el("button", { type: "submit", class: "small primary" }, t("open_request"))) : null,
    box);
}

function reportCard(id) {
  const box = el("div", { id: "report" });
  const show = async () => {
    const r = await call("GET", "/v1/subjects/" + id + "/export?format=json&lang=" + getLang());
    clear(box);
    if (!r.ok) { box.append(el("p", { class: "error" }, r.status === 403 ? t("rights_only") : errText(r))); return; }
    box.append(renderReport(r.data));
  };
  const dl = async () => {
    const r = await call("GET", "/v1/subjects/" + id + "/export?format=json&lang=" + getLang());
    if (!r.ok) { status(errText(r), "error"); return; }
    download("access-report-" + id + ".json", JSON.stringify(r.data, null, 2));
    status(t("downloaded"), "ok");
  };
  // The printable report is a page of its own (with its own style sheet);
  // it is saved as a file, never shown inside the console.
  const html = async () => {
    const r = await call("GET", "/v1/subjects/" + id + "/export?format=html&lang=" + getLang(), { blob: true });
    if (!r.ok) { status(errText(r), "error"); return; }
    download("access-report-" + id + ".html", r.data);
    status(t("downloaded"), "ok");
  };
  return section(t("access_report"), "h-report",
    el("p", { class: "muted small" }, t("report_help")),
    el("div", { class: "row" },
      el("button", { type: "button", id: "report-show", on: { click: show } }, t("show_report")),
      el("button", { type: "button", id: "report-download", on: { click: dl } }, t("download_json")),
      el("button", { type: "button", id: "report-html", on: { click: html } }, t("download_html"))),
    box);
}

function linkCard(id) {
  const box = el("div", { id: "link-box" });
  return section(t("self_link"), "h-link",
    el("p", { class: "muted small" }, t("self_link_help")),
    el("button", { type: "button", id: "link-make", on: { click: async () => {
      const r = await call("POST", "/v1/subjects/" + id + "/self-service-link");
      clear(box);
      if (!r.ok) { box.append(el("p", { class: "error", role: "alert" }, errText(r))); return; }
      const url = location.origin + r.data.path;
      box.append(el("label", { for: "link-url" }, t("link_url")),
        el("input", { id: "link-url", readonly: true, value: url, class: "mono wide" }),
        el("p", { class: "small muted" }, t("link_expires", { at: fmtDate(r.data.expires) })));
    } } }, t("make_link")),
    box);
}

function auditCard(id) {
  const box = el("div", null);
  const load = async () => {
    const r = await call("GET", "/v1/audit/log?subject=" + encodeURIComponent(id) + "&limit=200");
    clear(box);
    if (!r.ok) { box.append(el("p", { class: "error" }, errText(r))); return; }
    box.append(auditTable(r.data.items));
  };
  return section(t("audit_log"), "h-audit", el("button", { type: "button", id: "audit-show", on: { click: load } }, t("show_log")), box);
}

function auditTable(items) {
  return el("div", { class: "scroll" }, el("table", { class: "audit" },
    el("thead", null, el("tr", null, [t("when"), t("actor"), t("action"), t("purpose"), t("fields"), t("outcome")].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", null, items.map((a) => el("tr", { class: a.outcome === "ok" ? "" : "refused" },
      el("td", { class: "small" }, fmtDate(a.at)), el("td", null, a.actor), el("td", { class: "mono small" }, a.action),
      el("td", null, a.purpose ? labelIn(S.me.purposes, a.purpose) : "—"), el("td", { class: "small" }, a.fields || "—"),
      el("td", null, el("span", { class: "pill " + (a.outcome === "ok" ? "ok" : "bad") }, a.outcome)))))));
}

function eraseCard(id) {
  const word = t("erase_word");
  const input = el("input", { id: "erase-confirm", autocomplete: "off" });
  const box = el("div", { id: "erase-result" });
  return section(t("erase"), "h-erase",
    el("p", null, t("erase_help", { w: word })),
    el("form", { class: "inline danger", on: { submit: async (e) => {
      e.preventDefault();
      if (input.value.trim() !== word) { status(t("erase_type", { w: word }), "error"); input.focus(); return; }
      const r = await call("POST", "/v1/subjects/" + id + "/erase", { body: {} });
      clear(box);
      if (!r.ok) { box.append(el("p", { class: "error", role: "alert" }, errText(r))); return; }
      status(t("erased"), "ok");
      // The person's data is gone: only the receipt stays on the page.
      const m = clear(main());
      m.append(el("h1", null, t("erased")), el("p", { class: "mono muted" }, id), receipt(r.data),
        el("p", null, el("a", { href: "#find", on: { click: (ev) => { ev.preventDefault(); go("find"); } } }, t("nav_find"))));
      m.focus();
    } } },
      el("label", { for: "erase-confirm" }, t("erase_type", { w: word })), input,
      el("button", { type: "submit", class: "danger" }, t("erase_now"))),
    box);
}

function receipt(rc) {
  const er = rc.erased || {};
  return el("div", { class: "receipt", id: "receipt" },
    el("h3", null, t("receipt")),
    el("p", null, t("erased_at", { at: fmtDate(rc.at) })),
    el("ul", null, (er.values || []).map((v) => el("li", null, pick(v.label, v.category) + ": " + v.count))),
    el("p", { class: "small" }, t("receipt_counts", { v: er.value_count ?? 0, r: er.record_count ?? 0, c: er.consent_ledger_entries ?? 0 })),
    (rc.kept || []).length ? el("p", { class: "small" }, t("kept") + ": " + rc.kept.map((k) => pick(k.label, k.category || k.type || "")).join(", ")) : null,
    el("p", { class: "small muted" }, rc.audit_trail || ""));
}

// ---- registers ----
async function renderRequests(m) {
  const only = el("input", { type: "checkbox", id: "dsr-all" });
  const box = el("div", null);
  const load = async () => {
    const r = await call("GET", "/v1/dsr?limit=1000" + (only.checked ? "&all=1" : ""));
    clear(box);
    if (!r.ok) { box.append(el("p", { class: "muted" }, r.status === 403 ? t("rights_only") : errText(r))); return; }
    const items = r.data.items.slice().sort((a, b) => (a.deadline < b.deadline ? -1 : 1));
    const od = items.filter((d) => d.overdue).length;
    box.append(el("p", null, t("open_count", { n: items.filter((d) => d.status === "open").length }), od ? el("span", { class: "pill bad" }, " " + t("overdue_count", { n: od })) : null));
    box.append(items.length ? dsrTable(items, true) : el("p", { class: "muted" }, t("no_requests")));
  };
  only.addEventListener("change", load);
  m.append(el("h1", null, t("nav_requests")), el("section", { class: "card" }, el("div", { class: "check" }, only, el("label", { for: "dsr-all" }, t("show_closed"))), box));
  load();
}

async function renderAudit(m) {
  const box = el("div", { id: "verify" }, el("p", { class: "muted" }, t("loading")));
  m.append(el("h1", null, t("nav_audit")), el("section", { class: "card" }, box));
  const r = await call("GET", "/v1/audit/verify");
  clear(box);
  if (!r.ok) { box.append(el("p", { class: "error" }, errText(r))); return; }
  const ok = r.data.intact && r.data.rows_intact;
  box.append(el("p", { class: "decision " + (ok ? "yes" : "no") }, el("strong", null, ok ? t("audit_ok") : t("audit_bad"))),
    el("dl", { class: "kv" }, el("dt", null, t("entries")), el("dd", null, String(r.data.entries ?? "")), el("dt", null, t("subjects")), el("dd", null, String(r.data.subjects ?? "")),
      r.data.reason ? [el("dt", null, t("reason")), el("dd", null, r.data.reason)] : null));
}

async function renderRetention(m) {
  const box = el("div", null, el("p", { class: "muted" }, t("loading")));
  m.append(el("h1", null, t("nav_retention")), el("p", { class: "muted" }, t("retention_help")), el("section", { class: "card" }, box));
  const r = await call("GET", "/v1/retention/dry-run");
  clear(box);
  if (!r.ok) { box.append(el("p", { class: "error" }, errText(r))); return; }
  const d = r.data;
  add(box, el("dl", { class: "kv" },
    el("dt", null, t("as_of")), el("dd", null, fmtDate(d.as_of)),
    el("dt", null, t("examined")), el("dd", null, String(d.subjects.examined)),
    el("dt", null, t("would_change")), el("dd", null, String(d.subjects.changed)),
    el("dt", null, t("would_delete")), el("dd", null, String(d.subjects.deleted)),
    el("dt", null, t("values")), el("dd", null, String(d.deleted.values)),
    el("dt", null, t("records")), el("dd", null, String(d.deleted.records))),
    (d.rules || []).length ? el("table", { class: "values" }, el("thead", null, el("tr", null, [t("rule"), t("values"), t("records")].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", null, d.rules.map((x) => el("tr", null, el("td", null, pick(x.label, x.rule)), el("td", null, String(x.values)), el("td", null, String(x.records))))) ) : null);
}

async function renderNotice(m) {
  const box = el("pre", { class: "notice-text" }, t("loading"));
  m.append(el("h1", null, t("nav_notice")), el("section", { class: "card" }, box));
  const r = await call("GET", "/v1/notice?lang=" + getLang());
  box.textContent = r.ok ? r.data : errText(r);
}

// ---- start ----
$("lang").addEventListener("click", () => {
  setLang(getLang() === "fi" ? "en" : "fi");
  renderShell();
  if (S.me) go(S.view, S.subject);
  else renderSignIn();
});
$("signout").addEventListener("click", () => signOut(t("signed_out")));

(async () => {
  document.documentElement.lang = getLang();
  renderShell();
  if (S.token) {
    const r = await api("GET", "/v1/whoami", { token: S.token });
    if (r.ok) {
      S.me = r.data;
      S.purpose = S.me.default_purpose;
      if (!S.me.purposes.some((p) => p.name === S.purpose) && S.me.purposes.length) S.purpose = S.me.purposes[0].name;
      touch();
      go("find");
      return;
    }
    sessionStorage.removeItem(TOKEN_KEY);
    S.token = null;
  }
  renderSignIn();
})();
