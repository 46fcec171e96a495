// The data subject's own page. It opens with a link whose secret is after
// '#' (never sent to the server in the URL, so it reaches no log); the
// secret is exchanged once for a session token, the address is cleaned at
// once, and the token lives in sessionStorage and the Authorization header
// only. The session acts on its own person only (the server decides whom).
import { api, el, add, clear, t, pick, getLang, setLang, useTexts, fmtDate, download, errText, announce } from "./common.js";
import { TEXTS } from "./texts.js";
import { renderReport } from "./report.js";

useTexts(TEXTS);

const KEY = "rekisteri-self";
const $ = (id) => document.getElementById(id);
const S = { token: null, expires: null, policy: null, state: "opening", report: null, ledger: [] };

function status(text, kind) {
  const s = $("status");
  s.classList.remove("hidden");
  announce(s, text, kind);
  clearTimeout(status.timer);
  status.timer = setTimeout(() => s.classList.add("hidden"), 6000);
}

function call(method, path, body) {
  return api(method, path, { token: S.token, body }).then((r) => {
    if (r.status === 401) end("ended");
    return r;
  });
}

function end(state) {
  S.token = null;
  sessionStorage.removeItem(KEY);
  S.state = state;
  render();
}

function shell() {
  document.documentElement.lang = getLang();
  document.title = t("me_title");
  $("app-title").textContent = t("me_title");
  $("lang").textContent = getLang() === "fi" ? "In English" : "Suomeksi";
  $("lang").setAttribute("lang", getLang() === "fi" ? "en" : "fi");
  $("signout").textContent = t("me_sign_out");
  $("signout").classList.toggle("hidden", !S.token);
}

function message(title, help, kind) {
  const m = clear($("main"));
  m.append(el("section", { class: "card center " + (kind || ""), id: "me-message" }, el("h1", null, title), help ? el("p", null, help) : null));
}

async function load() {
  const [rep, pol, led] = await Promise.all([
    call("GET", "/v1/self?format=json&lang=" + getLang()),
    call("GET", "/v1/self/policy"),
    call("GET", "/v1/self/consents"),
  ]);
  if (!S.token) return;
  if (!rep.ok || !pol.ok || !led.ok) {
    status(errText(!rep.ok ? rep : !pol.ok ? pol : led), "error");
    return;
  }
  S.report = rep.data;
  S.policy = pol.data;
  S.ledger = led.data;
  S.state = "ready";
  render();
}

function latest(kind, name) {
  let v = false;
  for (const e of S.ledger) if (e.kind === kind && e.scope === name) v = e.given;
  return v;
}

// The link's secret is spent only when the person asks: a mail scanner or
// a link preview that renders the page must not use it up.
let pendingSecret = "";

function askToOpen() {
  const m = clear($("main"));
  const b = el("button", { type: "button", id: "me-open", class: "primary" }, t("me_open_button"));
  b.addEventListener("click", exchange);
  m.append(el("section", { class: "card center", id: "me-message" },
    el("h1", null, t("me_open_title")), el("p", null, t("me_open_help")), b));
  b.focus();
}

async function exchange() {
  const secret = pendingSecret;
  pendingSecret = "";
  S.state = "opening";
  render();
  const r = await api("POST", "/v1/self/session", { body: { secret } });
  if (!r.ok) {
    S.state = r.status === 410 ? "used" : "nolink";
    if (r.status !== 410) status(errText(r), "error");
    render();
    return;
  }
  S.token = r.data.token;
  S.expires = r.data.expires;
  sessionStorage.setItem(KEY, JSON.stringify({ token: S.token, expires: S.expires }));
  await load();
}

function render() {
  shell();
  if (S.state === "ask") return askToOpen();
  if (S.state === "opening") return message(t("me_opening"));
  if (S.state === "nolink") return message(t("me_no_link"), t("me_no_link_help"));
  if (S.state === "used") return message(t("me_link_used"), t("me_link_used_help"), "warn");
  if (S.state === "ended") return message(t("me_ended"), t("me_no_link_help"));
  const m = clear($("main"));
  add(m, el("h1", null, t("me_title")), el("p", { class: "lead" }, t("me_intro")),
    S.expires ? el("p", { class: "muted small" }, t("me_session_until", { at: fmtDate(S.expires) })) : null);

  // prohibitions (objections) and consents: giving and withdrawing are
  // the same single click
  const obj = el("ul", { class: "toggles", id: "me-objections" });
  for (const o of S.policy.objections) {
    const on = latest("objection", o.name);
    obj.append(el("li", { class: "toggle" + (on ? " on" : ""), "data-key": "objection-" + o.name },
      el("span", { class: "t-label" }, pick(o.label, o.name)),
      el("span", { class: "pill " + (on ? "warn" : "off") }, on ? t("in_force") : t("not_in_force")),
      el("button", { type: "button", on: { click: async () => {
        const r = await call("POST", "/v1/self/objections", { objection: o.name, lift: on, channel: "web" });
        if (r.ok) { status(t("saved"), "ok"); await load(); } else status(errText(r), "error");
      } } }, on ? t("me_allow") : t("me_prohibit"))));
  }
  const cons = el("ul", { class: "toggles", id: "me-consents" });
  for (const s of S.policy.scopes) {
    const on = latest("consent", s.name);
    cons.append(el("li", { class: "toggle" + (on ? " on" : ""), "data-key": "consent-" + s.name },
      el("span", { class: "t-label" }, pick(s.label, s.name)),
      el("span", { class: "pill " + (on ? "ok" : "off") }, on ? t("me_consent_on") : t("me_consent_off")),
      el("button", { type: "button", on: { click: async () => {
        const r = await call("POST", "/v1/self/consents", { scope: s.name, given: !on, channel: "web" });
        if (r.ok) { status(t("saved"), "ok"); await load(); } else status(errText(r), "error");
      } } }, on ? t("withdraw") : t("give"))));
  }
  const reqBox = el("div", { id: "me-request-result", "aria-live": "polite" });
  const ask = async (type) => {
    const r = await call("POST", "/v1/self/requests", { type });
    clear(reqBox);
    if (!r.ok) { reqBox.append(el("p", { class: "error" }, errText(r))); return; }
    reqBox.append(el("p", { class: "notice ok" }, t("me_request_done", { n: r.data.number, due: fmtDate(r.data.deadline || r.data.due) })));
  };
  const confirmErase = () => {
    clear(reqBox);
    reqBox.append(el("div", { class: "notice warn" }, el("p", null, t("me_erase_confirm")),
      el("button", { type: "button", class: "danger", id: "me-erase-yes", on: { click: () => ask("erasure") } }, t("me_yes")),
      " ", el("button", { type: "button", class: "ghost", on: { click: () => clear(reqBox) } }, t("cancel"))));
    $("me-erase-yes").focus();
  };
  const cookieBox = el("div", { id: "me-cookie-result", "aria-live": "polite" });

  m.append(
    el("div", { class: "grid2" },
      el("section", { class: "card", "aria-labelledby": "h-choices" }, el("h2", { id: "h-choices" }, t("me_marketing")), obj, el("h3", null, t("me_consents")), cons),
      el("div", { class: "stack" },
        el("section", { class: "card", "aria-labelledby": "h-cookies" }, el("h2", { id: "h-cookies" }, t("me_cookies")), el("p", null, t("me_cookies_help")),
          el("button", { type: "button", id: "me-cookies", on: { click: async () => {
            const r = await call("DELETE", "/v1/self/cookies");
            clear(cookieBox);
            cookieBox.append(el("p", { class: r.ok ? "notice ok" : "error" }, r.ok ? t("me_cookies_done", { n: r.data.unlinked }) : errText(r)));
          } } }, t("me_cookies_reset")), cookieBox),
        el("section", { class: "card", "aria-labelledby": "h-requests" }, el("h2", { id: "h-requests" }, t("me_requests")),
          el("div", { class: "row" },
            el("button", { type: "button", id: "me-rectify", on: { click: () => ask("rectification") } }, t("me_rectify")),
            el("button", { type: "button", id: "me-erase", class: "danger-outline", on: { click: confirmErase } }, t("me_erase"))),
          reqBox))),
    el("section", { class: "card", "aria-labelledby": "h-data" },
      el("div", { class: "row spread" }, el("h2", { id: "h-data" }, t("me_your_data")),
        el("button", { type: "button", id: "me-download", on: { click: async () => {
          const r = await call("GET", "/v1/self?format=json&lang=" + getLang());
          if (r.ok) download("my-data.json", JSON.stringify(r.data, null, 2));
          else status(errText(r), "error");
        } } }, t("me_download"))),
      renderReport(S.report)));
}

$("lang").addEventListener("click", () => {
  setLang(getLang() === "fi" ? "en" : "fi");
  if (S.token && S.state === "ready") load();
  else render();
});
$("signout").addEventListener("click", async () => {
  if (S.token) await api("DELETE", "/v1/self/session", { token: S.token });
  end("ended");
});

(async () => {
  // Only a link's secret (43 URL-safe characters) is one: any other
  // fragment (the page's own #main, say) is nobody's secret.
  const frag = location.hash.slice(1);
  const secret = /^[A-Za-z0-9_-]{43}$/.test(frag) ? frag : "";
  // The secret leaves the address bar and the history at once.
  if (location.hash) history.replaceState(null, "", location.pathname);
  shell();
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
    if (saved) { S.token = saved.token; S.expires = saved.expires; }
  } catch (e) {
    sessionStorage.removeItem(KEY);
  }
  if (secret && !S.token) {
    pendingSecret = secret;
    S.state = "ask";
    render();
    return;
  }
  if (!S.token) { S.state = "nolink"; render(); return; }
  render();
  await load();
})();
