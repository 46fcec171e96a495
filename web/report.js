// The access report (the export's JSON) as both pages show it, and the
// compact list of a value's purposes.
import { el, t, fmtDate } from "./common.js";

// A value's purposes: the one being viewed first (marked), the rest folded
// away so long labels do not crowd the table.
export function purposeCell(list, current, labelOf) {
  const first = list.includes(current) ? [current] : [];
  const rest = list.filter((p) => p !== current);
  return el("div", { class: "purposes" },
    first.map((p) => el("span", { class: "tag on", title: labelOf(p) }, "✓ " + t("viewed_purpose"))),
    rest.length === 0 ? null :
      el("details", null, el("summary", null, first.length ? t("and_more", { n: rest.length }) : t("n_purposes", { n: rest.length })),
        el("ul", { class: "plain" }, rest.map((p) => el("li", null, labelOf(p))))));
}

// A record's fields as [label, value] pairs: the report gives a list of
// {name, label, value}; an object of name: value is taken too.
function fieldPairs(fields) {
  const text = (v) => (v == null ? "" : Array.isArray(v) ? v.join(", ") : typeof v === "object" ? JSON.stringify(v) : String(v));
  if (Array.isArray(fields)) return fields.map((f) => [f.label || f.name || "", text(f.value)]);
  return Object.entries(fields || {}).map(([k, v]) => [k, text(v)]);
}

// The access report as a list: each value with its purposes, legal basis,
// source and how long it is kept, all as text.
export function renderReport(rep) {
  const frag = el("div", { class: "report" });
  frag.append(el("h3", null, rep.register_name || ""),
    el("p", { class: "muted small" }, (rep.controller?.name || "") + " · " + t("generated") + " " + fmtDate(rep.generated_at)));
  const purposeLabel = (n) => (rep.purposes || []).find((p) => p.name === n)?.label || n;
  const items = (rep.values || []).map((v) => el("li", { class: "vitem" },
    el("div", { class: "vhead" }, el("span", { class: "vlabel" }, v.label || v.field), el("span", { class: "vvalue" }, v.hidden ? t("hidden") : v.value)),
    el("dl", { class: "vmeta" },
      el("dt", null, t("basis")), el("dd", null, (v.legal_basis_label || v.legal_basis || "") + (v.gdpr ? " (" + v.gdpr + ")" : "")),
      el("dt", null, t("source")), el("dd", null, v.source_label || v.source || ""),
      el("dt", null, t("expires")), el("dd", null, v.expires ? fmtDate(v.expires) : t("open_ended")),
      el("dt", null, t("purposes")), el("dd", null, el("details", null, el("summary", null, t("n_purposes", { n: (v.purposes || []).length })),
        el("ul", { class: "plain" }, (v.purposes || []).map((p) => el("li", null, purposeLabel(p)))))))));
  frag.append(el("ul", { class: "vlist" }, items));
  if ((rep.records || []).length) {
    frag.append(el("h4", null, t("records")), el("ul", { class: "records" }, rep.records.map((r) => el("li", null,
      el("strong", null, r.label || r.type), " ", el("span", { class: "muted small" }, fmtDate(r.created_at || r.at)),
      el("dl", { class: "kv" }, fieldPairs(r.fields).map(([k, v]) => [el("dt", null, k), el("dd", null, v)]))))));
  }
  if ((rep.ledger || []).length) {
    frag.append(el("h4", null, t("consents")), el("ol", { class: "history" }, rep.ledger.map((e) => el("li", null,
      el("span", { class: "when" }, fmtDate(e.at)), " ", e.label || e.scope, ": ", el("strong", null, entryState(e))))));
  }
  if ((rep.recipients || []).length) {
    frag.append(el("h4", null, t("recipients")), el("ul", { class: "plain small" }, rep.recipients.map((r) => el("li", null, r.label + " (" + r.country + ")"))));
  }
  return frag;
}

// How a ledger entry reads: a consent given or withdrawn, an objection or a
// restriction in force or lifted, a cookie reset done.
function entryState(e) {
  if (e.kind === "action") return t("done_entry");
  if (e.kind === "objection") return e.given ? t("in_force") : t("lifted");
  return e.given ? t("given") : t("withdrawn");
}
