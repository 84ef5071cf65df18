// The app: boots from local data before any network, signs in with an invite code, and shows
// what to do and whom to call. Routes live in the URL hash so that the back button works and
// nothing about the answers chosen is ever stored.

import init, { Client } from "./contactpoint.js";
import { Store } from "./store.js";
import { Sync } from "./sync.js";
import { LANGS, addWords, issueText, language, pickLanguage, setLanguage, t, tm } from "./i18n.js";

const main = document.getElementById("main");
const statusEl = document.getElementById("status");
let store;
let client;
let sync;
let settings = {};
let lastStatus = { state: "offline", at: undefined };
// A local change was saved while the relay was out of reach and has not been confirmed yet.
let waitingLocal = false;
// A document whose data from the relay could not be applied: {doc, reason, retrying}, until
// data for it applies again.
let syncProblem = null;

function randomId(bytes = 16) {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

// The civil date in Finland, where the directory's dates are meant: the UTC date would give
// entries checked between midnight and 02:00 (03:00 in summer) yesterday's date.
const FINNISH_DATE = new Intl.DateTimeFormat("sv-SE", { timeZone: "Europe/Helsinki", year: "numeric", month: "2-digit", day: "2-digit" });
function today() {
  return FINNISH_DATE.format(new Date());
}

// Local weekday and time, for "open now": the wasm side never reads a clock.
function nowLocal() {
  const d = new Date();
  const days = ["su", "mo", "tu", "we", "th", "fr", "sa"];
  return `${days[d.getDay()]} ${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

// A tiny element builder: h("p", {class: "x"}, "text", child…). Text is always set as text,
// never as HTML, so content from documents cannot inject markup.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function show(title, ...content) {
  // Screens pass null for parts they leave out; replaceChildren would print those as "null".
  main.replaceChildren(h("h1", {}, title), ...content.filter((c) => c !== null && c !== undefined && c !== false));
  document.title = `${title} · ${t("app_name")}`;
  // Move focus for screen readers without scrolling the header and status out of view.
  main.focus({ preventScroll: true });
  scrollTo(0, 0);
}

function renderStatus() {
  // Before sign-in there is nothing to sync, so nothing to say about it.
  if (!settings.token) return statusEl.replaceChildren();
  const { state, at } = lastStatus;
  if (at) settings.lastSynced = at;
  const label = state === "online" ? t("online") : state === "offline" ? t("offline") : t(state);
  // "Up to date" means the relay confirmed every local change, so nothing waits any more.
  if (state === "online") waitingLocal = false;
  const parts = [h("span", { class: state === "offline" ? "offline" : "" }, label), " · ", lastSyncedEl()];
  if (waitingLocal) parts.push(h("span", { "data-testid": "waiting" }, ` · ${t("saved_offline")}`));
  // A document the relay refused is not sent until reset: say so rather than "Updating…" alone.
  if (client && JSON.parse(client.heldDocs()).length) parts.push(h("span", { class: "error", "data-testid": "held" }, ` · ${t("held_status")}`));
  if (syncProblem) {
    const what = t(syncProblem.retrying ? "sync_failed_retrying" : "sync_failed_waiting");
    parts.push(h("span", { class: "error", role: "status", "data-testid": "sync-problem", title: syncProblem.reason }, ` · ${what} (${syncProblem.reason})`));
  }
  statusEl.replaceChildren(...parts);
}

// "last synced 5 minutes ago": the age in words, the time itself in `data-at` (RFC 3339) and
// as the tooltip. An age changes with the clock, so `tickAge` keeps it current.
function lastSyncedEl() {
  const at = settings.lastSynced;
  if (!at) return h("span", { "data-testid": "last-synced", "data-at": "" }, t("never_synced"));
  return h("span", { "data-testid": "last-synced", "data-at": String(at), title: formatTime(at) }, `${t("last_synced")} ${age(at)}`);
}

// How long ago `at` was, in the current language: "just now", "5 minutes ago", "2 hours ago".
function age(at) {
  const minutes = Math.floor(Math.max(0, Date.now() - new Date(at).getTime()) / 60_000);
  if (minutes < 1) return t("just_now");
  const rtf = new Intl.RelativeTimeFormat(language(), { numeric: "always" });
  if (minutes < 60) return rtf.format(-minutes, "minute");
  if (minutes < 24 * 60) return rtf.format(-Math.floor(minutes / 60), "hour");
  return rtf.format(-Math.floor(minutes / (24 * 60)), "day");
}

// Redraws the age when its words change (at most once a minute in the first hour).
function tickAge() {
  const el = statusEl.querySelector("[data-testid=last-synced]");
  if (!el || !settings.lastSynced) return;
  const text = `${t("last_synced")} ${age(settings.lastSynced)}`;
  if (el.textContent !== text) el.textContent = text;
}

// After a local change: while the relay is out of reach, the status line keeps saying that the
// change waits on this device until the relay confirms it.
function savedLocally() {
  if (!client.isConnected()) waitingLocal = true;
  renderStatus();
}

// The relay's refusal in the editor's words and language, from its code (`explained`, made by the
// wasm client): the rule's message without the document id and the internal path, which stay
// available under "details".
function refusalText(e) {
  const text = tm(e.code, e.params, e.message);
  return e.more ? `${text} ${t("more_problems").replace("{n}", e.more)}` : text;
}

// Text picked from a multilingual field, with its language and direction marked.
function content(tag, v, attrs = {}) {
  if (!v) return null;
  const el = h(tag, { ...attrs, lang: v.lang, dir: v.rtl ? "rtl" : "auto" }, v.text);
  if (v.lang !== language()) el.append(" ", h("span", { class: "lang-note" }, `(${langNote(v.lang)})`));
  return el;
}

// "(in Swedish)": the language a text is shown in when the person's own is missing.
function langNote(lang) {
  const key = `in_lang_${lang}`;
  return t(key) === key ? `${t("shown_in")} ${lang}` : t(key);
}

// Document titles by area key (`national`, `municipality:092`, `restricted:…`) in the current
// language, read once per screen drawn: `route` clears it.
let documentTitles = null;
function documentTitle(key) {
  if (!documentTitles || documentTitles.lang !== language()) {
    documentTitles = { lang: language(), byKey: new Map(JSON.parse(client.areaDocuments(language())).map((d) => [d.area, d.title])) };
  }
  return documentTitles.byKey.get(key) || (key === "national" ? t("maintainer_national") : key);
}

// For editors and administrators: whether they may change this contact (the same check as the
// Edit button, which mirrors the relay's), and if not, whose document holds it. Readers change
// nothing, so they see neither.
function maintainerNote(id) {
  const role = (settings.user || {}).role;
  if (role !== "editor" && role !== "admin") return null;
  if (canEdit(id)) return h("span", { class: "badge mine", "data-testid": "may-edit" }, t("you_may_edit"));
  const scope = client.contactScope(id);
  if (!scope) return null;
  return h("span", { class: "hint maintainer", "data-testid": "maintainer" }, `${t("maintained_by")}: ${documentTitle(scope[1])}`);
}

function contactCard(c) {
  return h(
    "div",
    { class: "contact", "data-testid": "contact" },
    h(
      "div",
      {},
      maintainerNote(c.id),
      c.example ? h("span", { class: "badge example" }, t("example")) : null,
      c.stale ? h("span", { class: "badge stale" }, t("stale")) : null,
      c.members_only != null ? h("span", { class: "badge members", "data-testid": "members-only" }, c.members_only ? `${t("members_only")}: ${c.members_only}` : t("members_only")) : null,
    ),
    h("strong", {}, h("a", { href: `#/contact/${encodeURIComponent(c.id)}` }, content("span", c.name))),
    c.organisation ? content("div", c.organisation) : null,
    c.phones.map((p) =>
      h("div", { class: "phone" }, h("a", { class: "tel", href: `tel:${p.number.replace(/[^+\d]/g, "")}`, dir: "ltr" }, p.number), p.description ? content("span", p.description, { class: "hint" }) : null),
    ),
    c.open_now === true ? h("span", { class: "badge open" }, t("open_now")) : null,
    c.open_now === false ? h("span", { class: "badge closed" }, t("closed_now")) : null,
    c.hours.length ? h("div", { class: "hint" }, c.hours.join(" · ")) : null,
    c.languages.length ? h("div", { class: "hint" }, `${t("languages")}: ${c.languages.join(", ")}`) : null,
    c.why ? h("p", { class: "why" }, `${t("why_contact")}: ${c.why}`) : null,
  );
}

// A Share button: the system's share sheet where there is one (Web Share API), else the text
// and link copied to the clipboard, with a message in the person's language; where copying is
// refused too, the text is shown to select by hand. `what` is {title, text, url}.
function shareButton(what) {
  const note = h("p", { class: "share-note", role: "status", "data-testid": "share-note" });
  const share = async () => {
    note.replaceChildren();
    if (navigator.share) {
      try {
        await navigator.share(what);
        return;
      } catch (e) {
        // Closing the share sheet is a choice, not a failure; anything else falls back to a copy.
        if (e && e.name === "AbortError") return;
      }
    }
    const full = `${what.text}\n${what.url}`;
    try {
      await navigator.clipboard.writeText(full);
      note.textContent = t("copied");
    } catch {
      note.replaceChildren(t("copy_failed"), h("textarea", { readonly: true, rows: 4, "aria-label": t("share"), "data-testid": "share-text" }, full));
    }
  };
  return h("div", { class: "share no-print" }, h("button", { type: "button", class: "secondary", "data-testid": "share", onclick: share }, t("share")), note);
}

// A contact as plain text to share: name, organisation, numbers, e-mail and web address.
function contactText(c) {
  return [c.name.text, c.organisation && c.organisation.text, ...c.phones.map((p) => `${t("phone")}: ${p.number}`), c.email && `${t("email")}: ${c.email}`, c.url].filter(Boolean).join("\n");
}

function urgencyLabel(u) {
  return t(`urgency_${u}`);
}

// ---------------------------------------------------------------------------------------------
// Screens

// Why this device was signed out by the relay, when it was: kept in the page's history entry
// (with the language), since everything the store held is gone.
function removedNotice() {
  const reason = history.state && history.state.removed;
  return reason === "revoked" || reason === "disabled" ? t(`removed_${reason}`) : null;
}

function signInScreen(error) {
  const notice = removedNotice();
  const code = h("input", { id: "code", name: "code", autocomplete: "one-time-code", autocapitalize: "characters", required: true, value: new URLSearchParams(location.search).get("invite") || "" });
  const device = h("input", { id: "device", name: "device", required: true, value: "" });
  const err = h("p", { class: "error", role: "alert" }, error || "");
  const form = h(
    "form",
    {
      onsubmit: async (ev) => {
        ev.preventDefault();
        err.textContent = "";
        try {
          const res = await fetch("/api/v0/redeem", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ code: code.value, device_name: device.value || "browser" }),
          });
          const body = await res.json().catch(() => ({}));
          if (!res.ok) throw new Error(tm(body.code, {}, body.error || `${res.status}`));
          await store.setSetting("token", body.token);
          // The language chosen on this screen becomes the device's.
          await store.setSetting("lang", language());
          await store.setSetting("user", { name: body.user_name, role: body.role, areas: body.areas });
          if (body.index_document_id) await store.setSetting("indexDoc", body.index_document_id);
          history.replaceState(null, "", location.pathname + "#/");
          await start();
        } catch (e) {
          err.textContent = `${t("sign_in_failed")}: ${e instanceof TypeError ? t("no_network") : e.message}`;
        }
      },
    },
    h("p", {}, t("sign_in_text")),
    h("label", { for: "code" }, t("invite_code")),
    code,
    h("label", { for: "device" }, t("device_name")),
    h("p", { class: "hint", id: "device-hint" }, t("device_name_hint")),
    device,
    h("p", {}, h("button", { type: "submit" }, t("sign_in"))),
    err,
  );
  device.setAttribute("aria-describedby", "device-hint");
  // The language can be chosen before signing in. Nothing is stored before sign-in, so until
  // then the choice lives in the page's history entry; what was typed is kept.
  const lang = languageSelect("signin-lang", (l) => {
    history.replaceState({ ...(history.state || {}), lang: l }, "");
    const typed = { code: code.value, device: device.value };
    signInScreen(err.textContent);
    document.getElementById("code").value = typed.code;
    document.getElementById("device").value = typed.device;
    document.getElementById("signin-lang").focus();
  });
  show(
    t("sign_in_title"),
    h("p", { class: "row lang-choice" }, h("label", { for: "signin-lang", class: "inline" }, t("language")), lang),
    notice ? h("p", { id: "removed", class: "error", role: "alert", "data-testid": "removed" }, notice) : null,
    form,
  );
}

// A language picker whose change sets the app's language and then calls `then(lang)`.
function languageSelect(id, then) {
  const select = h("select", { id }, LANGS.map((l) => h("option", { value: l, lang: l, selected: l === language() }, { fi: "suomi", sv: "svenska", en: "English" }[l])));
  select.addEventListener("change", () => {
    setLanguage(select.value);
    then(select.value);
  });
  return select;
}

function municipalityScreen() {
  const input = h("input", { id: "muni", type: "search", autocomplete: "off", "aria-describedby": "muni-hint" });
  const list = h("ul", { class: "list", "aria-live": "polite" });
  const render = () => {
    const hits = JSON.parse(client.municipalities(input.value, language()));
    list.replaceChildren(
      ...hits.map((m) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "choice",
              onclick: async () => {
                await store.setSetting("municipality", m.code);
                settings.municipality = m.code;
                location.hash = "#/";
                route();
              },
            },
            h("strong", {}, m.name),
            m.other_name ? ` (${m.other_name})` : "",
          ),
        ),
      ),
    );
  };
  input.addEventListener("input", render);
  show(t("pick_municipality"), h("p", { id: "muni-hint" }, t("pick_municipality_text")), h("label", { for: "muni" }, t("search_municipality")), input, list);
  render();
}

// The home screen's topics from the last time they were drawn from the documents, kept in the
// settings ({lang, day, topics}), so that a cold start shows the home screen before any document
// is open. `earlyTopics` is set only for that first drawing.
let earlyTopics = null;

function homeTopics() {
  if (earlyTopics) return earlyTopics;
  const topics = JSON.parse(client.topics(language(), today()));
  const fresh = { lang: language(), day: today(), topics };
  if (JSON.stringify(settings.homeTopics) !== JSON.stringify(fresh)) {
    settings.homeTopics = fresh;
    store.setSetting("homeTopics", fresh).catch(() => {});
  }
  return topics;
}

// Resolves once the browser has had a chance to paint (or soon, in a hidden tab).
function painted() {
  return new Promise((r) => {
    requestAnimationFrame(() => setTimeout(r, 0));
    setTimeout(r, 100);
  });
}

function homeScreen() {
  const muni = JSON.parse(client.municipality(settings.municipality, language()));
  const topics = homeTopics();
  const q = h("input", { id: "q", type: "search", autocomplete: "off", "aria-describedby": "q-hint" });
  const results = h("ul", { class: "list", "aria-live": "polite" });
  const kept = history.state && history.state.q;
  q.addEventListener("input", () => {
    // The query is kept in the page's history entry, so Back from a result brings it back.
    history.replaceState({ ...(history.state || {}), q: q.value }, "");
    if (!q.value.trim()) return results.replaceChildren();
    // Search covers all of Finland, the home municipality's services first: a professional may
    // need a contact elsewhere too.
    const hits = JSON.parse(client.search(q.value, settings.municipality || "", language()));
    results.replaceChildren(
      ...(hits.length ? hits.map((x) => h("li", {}, h("a", { href: x.href }, h("strong", {}, x.title), x.subtitle))) : [h("li", {}, t("no_results"))]),
    );
  });
  show(
    t("what_worries"),
    h("p", {}, `${t("municipality")}: `, h("a", { href: "#/municipality" }, muni.name)),
    h("ul", { class: "topics list" }, topics.map((c) => h("li", {}, h("a", { href: `#/card/${encodeURIComponent(c.slug)}` }, h("strong", {}, content("span", c.title)), content("span", c.summary, { class: "summary" }))))),
    h("h2", {}, h("label", { for: "q" }, t("search"))),
    h("p", { class: "hint", id: "q-hint" }, t("search_hint")),
    q,
    results,
    h("p", { class: "row" }, h("a", { href: "#/browse" }, t("browse")), h("a", { href: `#/print/${encodeURIComponent(settings.municipality)}`, "data-testid": "print-link" }, t("print_sheet"))),
    reviewAreas().length
      ? h("p", { class: "row" }, h("a", { href: "#/review" }, t("review_queue")), h("a", { href: "#/add" }, t("add_contact")), h("a", { href: "#/retired" }, t("retired_list")))
      : null,
    (settings.discarded || []).length ? h("p", {}, h("a", { href: "#/discarded" }, `${t("discarded")} (${settings.discarded.length})`)) : null,
  );
  if (kept) {
    q.value = kept;
    q.dispatchEvent(new Event("input"));
  }
}

function cardScreen(slug, nodeId) {
  const card = JSON.parse(client.card(slug, settings.municipality, language(), today(), nowLocal()));
  if (!card) return homeScreen();
  const node = card.nodes[nodeId || card.start];
  const parts = [];
  if (card.stale) parts.push(h("p", {}, h("span", { class: "badge stale" }, t("stale"))));
  if (node.type === "question") {
    parts.push(content("h2", node.text));
    if (node.help) parts.push(content("p", node.help, { class: "hint" }));
    parts.push(h("ul", { class: "list" }, node.answers.map((a) => h("li", {}, h("a", { href: `#/card/${encodeURIComponent(slug)}/${encodeURIComponent(a.next)}` }, content("span", a.text))))));
  } else {
    parts.push(
      h(
        "section",
        { class: `urgency urgency-${node.urgency}`, "aria-labelledby": "steps-h" },
        h("p", { class: "urgency-label" }, urgencyLabel(node.urgency)),
        h("h2", { id: "steps-h" }, content("span", node.heading)),
        h(
          "ol",
          { class: "steps" },
          node.steps.map((s) =>
            h(
              "li",
              { "data-kind": s.kind },
              content("p", s.text),
              s.legal_basis ? h("p", { class: "hint" }, `${t("legal_basis")}: ${s.legal_basis}`) : null,
              s.roles.length && !s.contacts.length ? h("p", { class: "hint" }, t("no_contact")) : null,
              s.contacts.map(contactCard),
            ),
          ),
        ),
      ),
    );
    if (card.do_not.length) parts.push(h("section", { class: "donot" }, h("h2", {}, t("do_not")), h("ul", {}, card.do_not.map((d) => content("li", d)))));
    // The steps as text: each step, then its contacts' names and numbers.
    const steps = node.steps.map((st, i) => [`${i + 1}. ${st.text ? st.text.text : ""}`, ...st.contacts.map((c) => `   ${c.name.text}${c.phones.length ? `: ${c.phones.map((p) => p.number).join(", ")}` : ""}`)].join("\n"));
    const here = `${location.origin}${location.pathname}#/card/${encodeURIComponent(slug)}/${encodeURIComponent(nodeId || card.start)}`;
    parts.push(shareButton({ title: card.title.text, text: [card.title.text, node.heading && node.heading.text, ...steps].filter(Boolean).join("\n"), url: here }));
  }
  parts.push(h("p", { class: "row" }, nodeId ? h("a", { class: "button secondary", href: `#/card/${encodeURIComponent(slug)}` }, t("start_over")) : null, h("a", { class: "button secondary", href: "#/" }, t("back"))));
  // Editors of an area covering the chosen municipality may adapt the card for it.
  const local = localAreas().map((a) => h("li", {}, h("a", { href: `#/local/${encodeURIComponent(slug)}/${encodeURIComponent(a.area)}` }, `${t("local_version_for")}: ${a.title}`)));
  if (local.length) parts.push(h("ul", { class: "local-links" }, local));
  show(card.title.text, ...parts);
}

// The area documents covering the chosen municipality that this user may edit.
function localAreas() {
  const user = settings.user || {};
  if (user.role !== "admin" && user.role !== "editor") return [];
  return JSON.parse(client.areasCovering(settings.municipality, language())).filter((a) => user.role === "admin" || (user.areas || []).includes(a.area.replace(/^restricted:/, "")));
}

// An area's local version of a national card: reword steps, add local steps, remove steps the
// national card does not require. Every button is one validated change.
function localScreen(slug, area) {
  const user = settings.user || {};
  if (!(user.role === "admin" || (user.role === "editor" && (user.areas || []).includes(area)))) return cardScreen(slug);
  const v = JSON.parse(client.localGuidance(slug, area, language()));
  if (!v) return homeScreen();
  const areaTitle = (JSON.parse(client.areasCovering(settings.municipality, language())).find((a) => a.area === area) || { title: area }).title;
  const report = h("p", { class: "error", role: "alert", "data-testid": "local-report" });
  const change = (op) => {
    report.textContent = "";
    const res = client.changeLocal(slug, area, JSON.stringify(op));
    if (!res.ok) {
      report.textContent = res.issues.map(issueText).join(" ");
      return false;
    }
    sync.applyLocal(res.effects);
    savedLocally();
    localScreen(slug, area);
    return true;
  };
  const back = h("p", {}, h("a", { class: "button secondary", href: `#/card/${encodeURIComponent(slug)}` }, t("back")));
  if (!v.active) {
    return show(
      `${t("local_guidance")}: ${v.title}`,
      h("p", {}, `${t("local_version_for")}: ${areaTitle}`),
      h("p", {}, t("local_intro")),
      h("p", {}, t("local_none")),
      h("p", {}, h("button", { type: "button", "data-testid": "adapt", onclick: () => change({ op: "adapt" }) }, v.withdrawn ? t("restore_local") : t("create_local"))),
      report,
      back,
    );
  }
  const kinds = ["info", "consult", "refer", "support", "follow_up", "call", "document_elsewhere"];
  const roles = JSON.parse(client.roles(language()));
  const nodes = v.nodes.map((n) => {
    const kind = h("select", { id: `k-${n.id}` }, kinds.map((k) => h("option", { value: k }, t(`kind_${k}`))));
    const text = h("textarea", { id: `t-${n.id}`, rows: 3 });
    const role = h("select", { id: `r-${n.id}` }, h("option", { value: "" }, "—"), roles.map((r) => h("option", { value: r.role }, r.label)));
    return h(
      "section",
      { class: `urgency urgency-${n.urgency}`, "data-node": n.id },
      h("h2", {}, n.heading),
      h(
        "ol",
        { class: "steps" },
        n.steps.map((st) => {
          const box = h("textarea", { id: `s-${n.id}-${st.id}`, rows: 3, lang: st.lang, dir: "auto" }, st.text);
          return h(
            "li",
            { "data-step": st.id, "data-kind": st.kind },
            h("p", {}, h("strong", {}, t(`kind_${st.kind}`)), st.locked ? h("span", { class: "badge" }, ` ${t("required_nationally")}`) : null, st.local ? h("span", { class: "badge" }, ` ${t("local_step")}`) : null),
            h("label", { for: box.id, class: "visually-hidden" }, `${t("step_text")} (${t(`kind_${st.kind}`)})`),
            box,
            st.roles.length ? h("p", { class: "hint" }, st.roles.map((r) => (roles.find((x) => x.role === r) || { label: r }).label).join(", ")) : null,
            st.national_text ? h("p", { class: "hint" }, `${t("national_wording")}: `, h("span", { dir: "auto" }, st.national_text)) : null,
            h(
              "p",
              { class: "row" },
              h("button", { type: "button", class: "secondary", "data-testid": "save-wording", onclick: () => change({ op: "set_text", node: n.id, step: st.id, lang: language(), text: box.value }) }, t("save_wording")),
              st.locked ? null : h("button", { type: "button", class: "secondary", "data-testid": "remove-step", onclick: () => change({ op: "remove_step", node: n.id, step: st.id }) }, t("remove_step")),
            ),
          );
        }),
      ),
      h(
        "details",
        {},
        h("summary", {}, t("add_step")),
        h("label", { for: kind.id }, t("step_kind")),
        kind,
        h("label", { for: text.id }, t("step_text")),
        text,
        h("label", { for: role.id }, t("step_role")),
        role,
        h("p", {}, h("button", { type: "button", "data-testid": "add-step", onclick: () => change({ op: "add_step", node: n.id, kind: kind.value, lang: language(), text: text.value, roles: role.value ? [role.value] : [] }) }, t("add_step"))),
      ),
    );
  });
  show(
    `${t("local_guidance")}: ${v.title}`,
    h("p", {}, `${t("local_version_for")}: ${areaTitle}`),
    h("p", {}, t("local_intro")),
    report,
    ...nodes,
    h("p", {}, h("button", { type: "button", class: "secondary", "data-testid": "withdraw", onclick: () => confirm(t("withdraw_local_confirm")) && change({ op: "withdraw" }) }, t("withdraw_local"))),
    back,
  );
}

// Editors edit the documents of their areas, admins every document.
function canEdit(contactId) {
  const scope = client.contactScope(contactId);
  const user = settings.user || {};
  if (!scope) return false;
  return user.role === "admin" || (user.role === "editor" && (user.areas || []).includes(scope[1]));
}

// A contact point's field as an editor reads it, from the label the wasm client gives with
// the field ({word, n, detail}: "Phone 2", "Name (fi)"); a label-less value saved by an older
// version shows its field as it is.
function fieldLabel(item) {
  const l = item.label;
  if (!l) return item.field;
  if (!l.word) return l.detail;
  return `${t(l.word)}${l.n ? ` ${l.n}` : ""}${l.detail ? ` (${l.detail})` : ""}`;
}

function formatTime(ms) {
  return new Date(ms).toLocaleString(language() === "en" ? "en-GB" : language());
}

// Writes one field (a restored or a chosen value) as one change, then redraws the screen.
function setField(id, field, value, report) {
  const res = client.setContactField(id, field, value === null ? undefined : value);
  if (!res.ok) {
    report.textContent = res.issues.map(issueText).join(" ");
    return false;
  }
  sync.applyLocal(res.effects);
  savedLocally();
  return true;
}

// Fields two editors changed concurrently, with a button to keep each value. Automerge shows
// the same value everywhere until someone chooses; choosing writes that value once more.
function conflictSection(id) {
  const conflicts = JSON.parse(client.contactConflicts(id)).filter((c) => c.values.every((v) => v !== "{map}" && v !== "{list}"));
  if (!conflicts.length) return null;
  const report = h("p", { class: "error", role: "alert" });
  return h(
    "section",
    { class: "conflicts", "data-testid": "conflicts", "aria-labelledby": "conflicts-h" },
    h("h2", { id: "conflicts-h" }, t("conflict_title")),
    h("p", {}, t("conflict_text")),
    conflicts.map((c) =>
      h(
        "div",
        { "data-testid": "conflict", "data-field": c.field },
        h("h3", {}, fieldLabel(c)),
        h(
          "ul",
          { class: "list" },
          c.values.map((v, i) =>
            h(
              "li",
              {},
              h(
                "button",
                { type: "button", class: "choice", "data-value": v, onclick: () => setField(id, c.field, v, report) && route() },
                `${t("keep")}: `,
                h("span", { dir: "auto" }, v),
                i === 0 ? h("span", { class: "hint" }, ` (${t("shown_now")})`) : null,
              ),
            ),
          ),
        ),
      ),
    ),
    report,
  );
}

function contactScreen(id) {
  const c = JSON.parse(client.contact(id, settings.municipality, language(), today(), nowLocal()));
  if (!c) return homeScreen();
  const editable = canEdit(id);
  show(
    c.name.text,
    editable
      ? h(
          "p",
          { class: "row" },
          h("a", { class: "button secondary", href: `#/edit/${encodeURIComponent(id)}` }, t("edit")),
          h("a", { class: "button secondary", href: `#/history/${encodeURIComponent(id)}` }, t("history")),
        )
      : null,
    editable ? conflictSection(id) : null,
    c.retired ? h("p", { class: "badge stale", "data-testid": "retired" }, `${t("retired_on")} ${c.retired}`) : null,
    contactCard(c),
    c.description ? content("p", c.description) : null,
    c.email ? h("p", {}, `${t("email")}: `, h("a", { href: `mailto:${c.email}` }, c.email)) : null,
    c.url ? h("p", {}, h("a", { href: c.url, rel: "noopener" }, t("website"))) : null,
    c.verified_at ? h("p", { class: "hint" }, `${t("verified")}: ${c.verified_at}`) : null,
    shareButton({ title: c.name.text, text: contactText(c), url: `${location.origin}${location.pathname}#/contact/${encodeURIComponent(id)}` }),
    editable ? retireButton(id, c) : null,
    h("p", {}, h("a", { class: "button secondary", href: "#/" }, t("back"))),
  );
}

// Retiring keeps the entry in its document (readers no longer see it); restoring brings it back.
function retireButton(id, c) {
  const report = h("p", { class: "error", role: "alert" });
  const act = (f) => {
    try {
      sync.applyLocal(f());
      savedLocally();
      route();
    } catch (e) {
      report.textContent = e && e.issues ? e.issues.map(issueText).join(" ") : String(e && e.message ? e.message : e);
    }
  };
  const button = c.retired
    ? h("button", { type: "button", "data-testid": "restore-contact", onclick: () => act(() => client.restoreContact(id)) }, t("restore_contact"))
    : h(
        "button",
        {
          type: "button",
          class: "secondary",
          "data-testid": "retire-contact",
          onclick: () => confirm(t("retire_confirm")) && act(() => client.retireContact(id, today())),
        },
        t("retire_contact"),
      );
  return h("div", {}, h("p", {}, button), report);
}

// A new contact point in one of the editor's area documents (an admin may pick any).
function addScreen() {
  const areas = reviewAreas();
  const docs = JSON.parse(client.areaDocuments(language())).filter((d) => areas.includes("*") || areas.includes(d.area));
  if (!docs.length) return homeScreen();
  const area = h("select", { id: "f-area" }, docs.map((d) => h("option", { value: d.area }, d.title)));
  const name = formField("name", t("name"), "", { required: true });
  const phone = formField("phones[0]", `${t("phone_n")} 1`, "", { type: "tel", dir: "ltr", autocomplete: "off" });
  const email = formField("email", t("email"), "", { type: "email" });
  const url = formField("url", t("website"), "", { type: "url" });
  const roles = JSON.parse(client.roles(language()));
  const roleBoxes = roles.map((r) => ({ role: r.role, input: h("input", { type: "checkbox", id: `r-${r.role}`, value: r.role }) }));
  const rolesError = h("p", { class: "error", id: "e-roles" });
  const all = [name, phone, email, url];
  const summary = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    {
      onsubmit: (ev) => {
        ev.preventDefault();
        clearIssues(all, summary);
        rolesError.textContent = "";
        const json = {
          name: { lang: language(), text: name.input.value },
          roles: roleBoxes.filter((b) => b.input.checked).map((b) => b.role),
          phones: phone.input.value.trim() ? [phone.input.value] : [],
          email: email.input.value || undefined,
          url: url.input.value || undefined,
        };
        const res = client.addContact(area.value, JSON.stringify(json), today(), (settings.user || {}).name || "");
        if (!res.ok) {
          rolesError.textContent = res.issues.filter((i) => i.field === "roles").map(issueText).join(" ");
          showIssues(res.issues.filter((i) => i.field !== "roles"), all, name, summary);
          return;
        }
        sync.applyLocal(res.effects);
        savedLocally();
        location.hash = `#/contact/${encodeURIComponent(res.id)}`;
      },
    },
    h("label", { for: "f-area" }, t("area_document")),
    area,
    all.map((f) => f.el),
    h("fieldset", {}, h("legend", {}, t("roles")), roleBoxes.map((b) => h("p", { class: "row" }, b.input, h("label", { for: b.input.id, class: "inline" }, roles.find((r) => r.role === b.role).label))), rolesError),
    summary,
    h("p", { class: "row" }, h("button", { type: "submit" }, t("save")), h("a", { class: "button secondary", href: "#/" }, t("cancel"))),
  );
  show(t("add_contact"), form);
}

function retiredScreen() {
  const items = JSON.parse(client.retired(JSON.stringify(reviewAreas()), language()));
  show(
    t("retired_list"),
    items.length
      ? h("ul", { class: "list" }, items.map((i) => h("li", { "data-testid": "retired-item" }, h("a", { href: `#/contact/${encodeURIComponent(i.id)}` }, h("strong", {}, i.name), `${t("retired_on")} ${i.retired} · ${i.area}`))))
      : h("p", {}, t("retired_empty")),
    h("p", {}, h("a", { class: "button secondary", href: "#/" }, t("back"))),
  );
}

// A labelled input with its own error line below it; issues from the wasm side name the `key`.
function formField(key, label, value, attrs = {}) {
  const input = h("input", { id: `f-${key}`, name: key, value: value || "", "aria-describedby": `e-${key}`, ...attrs });
  return { key, input, el: h("div", {}, h("label", { for: `f-${key}` }, label), input, h("p", { class: "error", id: `e-${key}` })) };
}

// Clears the marks a previous attempt left on the form's fields.
function clearIssues(fields, summary) {
  for (const f of fields) {
    f.input.removeAttribute("aria-invalid");
    f.el.querySelector(".error").textContent = "";
  }
  summary.textContent = "";
}

// Shows each issue under its field (or `fallback`) and moves focus to the first marked field.
// Issues about the whole entry (no field of its own) are shown in the summary.
function showIssues(issues, fields, fallback, summary) {
  const general = [];
  for (const issue of issues) {
    const f = fields.find((x) => x.key === issue.field);
    if (!f) {
      general.push(issueText(issue));
      continue;
    }
    f.input.setAttribute("aria-invalid", "true");
    f.el.querySelector(".error").textContent = issueText(issue);
  }
  summary.textContent = [t("fix_errors"), ...general].join(" ");
  (fields.find((x) => x.input.getAttribute("aria-invalid")) || fallback).input.focus();
}

// A labelled text area with its own error line, shaped like `formField`; the text is in `lang`.
function textField(key, label, value, lang) {
  const input = h("textarea", { id: `f-${key}`, name: key, rows: 3, lang, dir: "auto", "aria-describedby": `e-${key}` }, value || "");
  return { key, input, el: h("div", {}, h("label", { for: `f-${key}` }, label), input, h("p", { class: "error", id: `e-${key}` })) };
}

const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

// A time input's value for the wasm side: a time the browser could not read (only the hour
// typed, say) is passed on as text that is not a time, so the rules' message is shown for it.
function timeValue(input) {
  return input.value || (input.validity.badInput ? "--:--" : "");
}

// One row of opening hours (`s`: {kind, days, opens, closes, from}) as the `i`th fieldset of the
// edit form, with its fields for `showIssues`: the kind, the days, both times, and the row as a
// whole (a missing time of the pair, shown under the times).
function scheduleRow(i, s, onRemove) {
  const key = `schedules[${i}]`;
  const legend = `${t("hours_row")} ${i + 1}`;
  const kinds = ["regular", "out_of_hours"].concat(["regular", "out_of_hours"].includes(s.kind) ? [] : [s.kind]);
  const kind = h(
    "select",
    { id: `f-${key}.kind`, "aria-describedby": `e-${key}.kind` },
    kinds.map((k) => h("option", { value: k, selected: k === s.kind }, k === "regular" || k === "out_of_hours" ? t(`hours_${k}`) : k)),
  );
  const boxes = WEEKDAYS.map((d) => h("input", { type: "checkbox", id: `f-${key}.${d}`, value: d, checked: s.days.includes(d), "aria-describedby": `e-${key}.days` }));
  const time = (part, value) => {
    const f = formField(`${key}.${part}`, t(part), value, { type: "time" });
    f.input.setAttribute("aria-describedby", `e-${key}.${part} e-${key}`);
    return f;
  };
  const opens = time("opens", s.opens);
  const closes = time("closes", s.closes);
  const rowError = h("p", { class: "error", id: `e-${key}` });
  const kindField = { key: `${key}.kind`, input: kind, el: h("div", {}, h("label", { for: kind.id }, t("hours_kind")), kind, h("p", { class: "error", id: `e-${key}.kind` })) };
  const daysError = h("p", { class: "error", id: `e-${key}.days` });
  const daysField = { key: `${key}.days`, input: boxes[0], el: h("div", {}, daysError) };
  // A problem with the row as a whole marks the time to fill in: the empty one, else the first.
  const rowField = {
    key,
    get input() {
      return opens.input.value && !closes.input.value ? closes.input : opens.input;
    },
    el: h("div", {}, rowError),
  };
  const el = h(
    "fieldset",
    { class: "schedule", "data-testid": "schedule" },
    h("legend", {}, legend),
    kindField.el,
    h(
      "fieldset",
      { class: "days" },
      h("legend", {}, t("days")),
      h("p", { class: "hint" }, t("days_hint")),
      h("div", { class: "day-boxes" }, boxes.map((b, j) => h("label", { class: "day", for: b.id }, b, h("span", { "aria-hidden": "true" }, t(`day_${WEEKDAYS[j]}`)), h("span", { class: "visually-hidden" }, t(`day_${WEEKDAYS[j]}_long`))))),
      daysField.el,
    ),
    h("div", { class: "times" }, opens.el, closes.el),
    h("p", { class: "hint" }, t("times_hint")),
    rowField.el,
    h("p", {}, h("button", { type: "button", class: "secondary", "data-testid": "remove-hours", onclick: onRemove }, t("remove"), h("span", { class: "visually-hidden" }, `: ${legend}`))),
  );
  return {
    el,
    fields: [kindField, daysField, opens, closes, rowField],
    value: () => ({ kind: kind.value, days: boxes.filter((b) => b.checked).map((b) => b.value), opens: timeValue(opens.input), closes: timeValue(closes.input), from: s.from }),
  };
}

function editScreen(id) {
  if (!canEdit(id)) return contactScreen(id);
  const c = JSON.parse(client.contact(id, settings.municipality, language(), today(), nowLocal()));
  if (!c) return homeScreen();
  const stored = c.form;
  const name = formField("name", t("name"), c.name.lang === language() ? c.name.text : "");
  const phones = (c.phones.length ? c.phones : [{ number: "" }]).map((p, i) => formField(`phones[${i}]`, `${t("phone_n")} ${i + 1}`, p.number, { type: "tel", dir: "ltr", autocomplete: "off" }));
  const email = formField("email", t("email"), c.email, { type: "email" });
  const url = formField("url", t("website"), c.url, { type: "url" });
  const description = textField("description", t("description"), stored && stored.description, language());
  const hoursNote = textField("hours_note", t("hours_note"), stored && stored.hours_note, language());
  // The rows of opening hours: redrawn, and so renumbered, when one is added or removed.
  let rows = [];
  const rowsEl = h("div", {});
  const draw = (schedules) => {
    rows = schedules.map((s, i) => scheduleRow(i, s, () => change((list) => list.splice(i, 1), false)));
    rowsEl.replaceChildren(...(rows.length ? rows.map((r) => r.el) : [h("p", { class: "hint" }, t("hours_none"))]));
  };
  // Adds or removes a row, keeping what was entered in the others; focus goes to the new row,
  // or after a removal to the button that adds one.
  const change = (f, added) => {
    const list = rows.map((r) => r.value());
    f(list);
    draw(list);
    (added ? rows[rows.length - 1].fields[0].input : addButton).focus();
  };
  const addButton = h("button", { type: "button", class: "secondary", "data-testid": "add-hours", onclick: () => change((list) => list.push({ kind: "regular", days: [], opens: "", closes: "" }), true) }, t("add_hours"));
  draw(stored ? stored.schedules.map((s, i) => ({ ...s, from: i })) : []);
  const verified = h("input", { id: "f-verified", type: "checkbox" });
  const fields = () => [name, ...phones, email, url, description, ...rows.flatMap((r) => r.fields), hoursNote];
  const summary = h("p", { class: "error", role: "alert" });
  // The rules' own messages, not the browser's, for every field (a half-typed time included).
  const form = h(
    "form",
    {
      novalidate: true,
      onsubmit: (ev) => {
        ev.preventDefault();
        const all = fields();
        clearIssues(all, summary);
        const edit = {
          phones: phones.map((p) => p.input.value),
          email: email.input.value,
          url: url.input.value,
          verified: verified.checked,
        };
        if (name.input.value.trim()) edit.name = { lang: language(), text: name.input.value };
        if (stored) {
          edit.description = { lang: language(), text: description.input.value };
          edit.hours_note = { lang: language(), text: hoursNote.input.value };
          edit.schedules = rows.map((r) => r.value());
        }
        const res = client.editContact(id, JSON.stringify(edit), today(), (settings.user || {}).name || "");
        if (!res.ok) {
          showIssues(res.issues, all, name, summary);
          return;
        }
        sync.applyLocal(res.effects);
        savedLocally();
        location.hash = `#/contact/${encodeURIComponent(id)}`;
      },
    },
    [name, ...phones, email, url, description].map((f) => f.el),
    stored
      ? h("section", { class: "hours", "aria-labelledby": "hours-h" }, h("h2", { id: "hours-h" }, t("opening_hours")), rowsEl, h("p", {}, addButton), hoursNote.el)
      : null,
    h("p", { class: "row" }, verified, h("label", { for: "f-verified", class: "inline" }, t("mark_verified"))),
    summary,
    h("p", { class: "row" }, h("button", { type: "submit" }, t("save")), h("a", { class: "button secondary", href: `#/contact/${encodeURIComponent(id)}` }, t("cancel"))),
  );
  show(`${t("edit_contact")}: ${c.name.text}`, form);
}

// Who made each change of a document, as the relay authenticated it: fetched when online,
// otherwise the copy saved on this device. Returns {byHash: Map, fresh: boolean}.
async function authorsOf(doc) {
  const key = `authors:${doc}`;
  try {
    const res = await fetch(`/api/v0/authors/${encodeURIComponent(doc)}`, { headers: { authorization: `Bearer ${settings.token}` } });
    if (res.ok) {
      const { changes } = await res.json();
      await store.setSetting(key, changes);
      return { byHash: new Map(changes.map((c) => [c.hash, c])), fresh: true };
    }
  } catch (e) {
    // Offline: fall back to the saved copy below.
  }
  const saved = (await store.getSetting(key)) || [];
  return { byHash: new Map(saved.map((c) => [c.hash, c])), fresh: false };
}

// An entry's changes, newest first: who, when, the previous value, and a button that writes the
// previous value back as a new change.
async function historyScreen(id) {
  if (!canEdit(id)) return contactScreen(id);
  const c = JSON.parse(client.contact(id, settings.municipality, language(), today(), nowLocal()));
  const entries = JSON.parse(client.contactHistory(id));
  if (!c || !entries) return homeScreen();
  const scope = client.contactScope(id);
  const authors = await authorsOf(scope[0]);
  // The screen may have been left while the names were fetched.
  if (location.hash !== `#/history/${encodeURIComponent(id)}`) return;
  const report = h("p", { class: "error", role: "alert" });
  const who = (e) => {
    const a = authors.byHash.get(e.hash);
    if (a) return { name: a.user, when: formatTime(Date.parse(a.at)), confirmed: true };
    return { name: e.message || t("unknown_author"), when: e.time ? formatTime(e.time * 1000) : "", confirmed: false };
  };
  const items = entries.map((e) => {
    const w = who(e);
    const by = h("span", { "data-testid": "author" }, w.name);
    const note = w.confirmed ? null : h("span", { class: "hint" }, ` (${t("unconfirmed")})`);
    if (e.changes.every((f) => f.before === null)) {
      return h("li", { "data-testid": "history-entry" }, h("p", {}, `${t("created_by")} `, by, note, ` · ${w.when}`));
    }
    return h(
      "li",
      { "data-testid": "history-entry" },
      e.changes.map((f) =>
        h(
          "div",
          { class: "change", "data-field": f.field },
          h("p", {}, h("strong", {}, fieldLabel(f)), ` ${t("changed_by")} `, by.cloneNode(true), note ? note.cloneNode(true) : null, ` · ${w.when}`),
          h("p", {}, `${t("previous_value")}: `, h("span", { dir: "auto", "data-testid": "before" }, f.before ?? t("no_value"))),
          h("p", {}, `${t("new_value")}: `, h("span", { dir: "auto", "data-testid": "after" }, f.after ?? t("no_value"))),
          h(
            "p",
            {},
            h(
              "button",
              {
                type: "button",
                class: "secondary",
                "data-testid": "restore",
                onclick: () => {
                  if (setField(id, f.field, f.before, report)) {
                    statusEl.replaceChildren(h("span", { role: "status" }, t("restored")));
                    location.hash = `#/contact/${encodeURIComponent(id)}`;
                  }
                },
              },
              t("restore"),
            ),
          ),
        ),
      ),
    );
  });
  show(
    `${t("history_of")}: ${c.name.text}`,
    authors.fresh ? null : h("p", { class: "hint" }, t("authors_offline")),
    report,
    items.length ? h("ol", { class: "list history" }, items) : h("p", {}, t("history_empty")),
    h("p", {}, h("a", { class: "button secondary", href: `#/contact/${encodeURIComponent(id)}` }, t("back"))),
  );
}

// A refusal from the relay. When it names a document, that document is held (not sent) until
// the editor resets it; the refused values are kept to be entered again.
function showRefusal(message, doc, explained) {
  let el = document.getElementById("refusal");
  if (!el) {
    el = h("section", { id: "refusal", class: "refusal", role: "alert", "aria-labelledby": "refusal-h" });
    main.before(el);
  }
  // Parts left out are null: replaceChildren would print them.
  el.replaceChildren(
    ...[
    h("h2", { id: "refusal-h" }, t("refused")),
    h("p", { dir: "auto", "data-testid": "refusal-message" }, refusalText(explained)),
    refusalText(explained) !== message ? h("details", {}, h("summary", {}, t("details")), h("p", { class: "hint", dir: "ltr" }, message)) : null,
    doc ? h("p", {}, t("refused_held")) : null,
    doc ? h("p", {}, h("button", { type: "button", "data-testid": "reset-doc", onclick: () => resetDoc(doc) }, t("reset_doc"))) : null,
    ].filter(Boolean),
  );
}

async function resetDoc(doc) {
  const res = client.resetDoc(doc);
  const at = new Date().toISOString();
  const kept = ((await store.getSetting("discarded")) || []).concat(res.discarded.map((d) => ({ ...d, at })));
  await store.setSetting("discarded", kept);
  settings.discarded = kept;
  sync.applyLocal(res.effects);
  const el = document.getElementById("refusal");
  if (el) el.remove();
  renderStatus();
  sync.now();
  location.hash = "#/discarded";
  route();
}

function discardedScreen() {
  const list = settings.discarded || [];
  show(
    t("discarded"),
    list.length ? h("p", {}, t("discarded_text")) : h("p", {}, t("discarded_empty")),
    list.length
      ? h(
          "ul",
          { class: "list" },
          list.map((d) =>
            h(
              "li",
              { "data-testid": "discarded-item" },
              h("a", { href: `#/edit/${encodeURIComponent(d.contact)}` }, h("strong", {}, d.name || d.contact), ` · ${fieldLabel(d)}`),
              h("p", {}, `${t("your_value")}: `, h("span", { dir: "auto" }, d.yours ?? t("no_value"))),
              h("p", { class: "hint" }, `${t("now_value")}: `, h("span", { dir: "auto" }, d.now ?? t("no_value"))),
            ),
          ),
        )
      : null,
    list.length
      ? h(
          "p",
          {},
          h(
            "button",
            {
              type: "button",
              class: "secondary",
              onclick: async () => {
                await store.setSetting("discarded", []);
                settings.discarded = [];
                discardedScreen();
              },
            },
            t("clear_list"),
          ),
        )
      : null,
    h("p", {}, h("a", { class: "button secondary", href: "#/" }, t("back"))),
  );
}

// The areas whose entries this user keeps current: an admin all of them.
function reviewAreas() {
  const user = settings.user || {};
  if (user.role === "admin") return ["*"];
  return user.role === "editor" ? user.areas || [] : [];
}

function reviewScreen() {
  const items = JSON.parse(client.reviewQueue(JSON.stringify(reviewAreas()), today(), language()));
  show(
    t("review_queue"),
    items.length
      ? h(
          "ul",
          { class: "list" },
          items.map((i) =>
            h(
              "li",
              { "data-testid": "review-item" },
              h(
                "a",
                { href: i.kind === "contact" ? `#/edit/${encodeURIComponent(i.id)}` : "#/" },
                h("strong", {}, i.title),
                `${t(`reason_${i.reason}`)}${i.since ? ` (${i.since})` : ""} · ${i.area}`,
              ),
            ),
          ),
        )
      : h("p", {}, t("review_empty")),
    h("p", {}, h("a", { class: "button secondary", href: "#/" }, t("back"))),
  );
}

function browseScreen() {
  const groups = JSON.parse(client.browse(settings.municipality, language(), today(), nowLocal()));
  show(t("browse"), ...groups.map((g) => h("section", {}, h("h2", {}, g.label), g.contacts.map(contactCard))), h("p", {}, h("a", { class: "button secondary", href: "#/" }, t("back"))));
}

// The accessibility statement (statement.js) is loaded when first opened, like the
// administration: few people read it, so a first visit does not download it. The service worker
// keeps it once fetched.
function accessibilityScreen() {
  const ctx = { h, show, t, settings, saveSetting: (k, v) => (settings.token ? store.setSetting(k, v) : Promise.resolve()) };
  return import("./statement.js")
    .then((m) => {
      addWords(m.WORDS);
      return m.statementScreen(ctx);
    })
    .catch((e) => show(t("a11y_title"), h("p", { class: "error", role: "alert" }, `${t("no_network")} (${e && e.message ? e.message : e})`)));
}

// A municipality's printable contact sheet (print.js), loaded when first opened: it is printed
// at a desk now and then, so a first visit does not download it. The service worker keeps it
// once fetched.
function printScreen(code) {
  const ctx = { h, show, t, content, client, settings, language, today, FINNISH_DATE, home: homeScreen };
  return import("./print.js")
    .then((m) => {
      addWords(m.WORDS);
      return m.printScreen(code, ctx);
    })
    .catch((e) => show(t("print_sheet"), h("p", { class: "error", role: "alert" }, `${t("no_network")} (${e && e.message ? e.message : e})`)));
}

function settingsScreen() {
  const lang = languageSelect("lang", async (l) => {
    await store.setSetting("lang", l);
    renderStatus();
    settingsScreen();
    document.getElementById("lang").focus();
  });
  const user = settings.user || {};
  show(
    t("settings"),
    h("label", { for: "lang" }, t("language")),
    lang,
    h("p", {}, h("a", { href: "#/municipality" }, `${t("municipality")}: ${settings.municipality ? JSON.parse(client.municipality(settings.municipality, language())).name : "—"}`)),
    h("p", {}, `${t("signed_in_as")}: ${user.name || "—"} (${user.role ? t(`role_${user.role}`) : "—"})`),
    user.role === "admin" || user.role === "editor" ? h("p", {}, h("a", { href: "#/admin", "data-testid": "admin-link" }, t("admin_title"))) : null,
    h(
      "p",
      {},
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: async () => {
            if (!confirm(t("sign_out_confirm"))) return;
            await wipeDevice();
            location.replace(location.pathname);
          },
        },
        t("sign_out"),
      ),
    ),
  );
}

// The administration screens (admin.js) are loaded when first opened: they need the relay
// anyway, so they are not part of what a first visit downloads.
function adminScreen(page) {
  const ctx = { h, show, t, language, token: () => settings.token, user: () => settings.user };
  return import("./admin.js")
    .then((m) => {
      addWords(m.WORDS);
      return m.adminScreen(page, ctx);
    })
    .catch((e) => show(t("admin_title"), h("p", { class: "error", role: "alert" }, `${t("no_network")} (${e && e.message ? e.message : e})`)));
}

function route() {
  documentTitles = null;
  // The accessibility statement is for anyone, signed in or not.
  if (location.hash === "#/accessibility") return accessibilityScreen();
  if (!settings.token) return signInScreen();
  if (!settings.municipality) return municipalityScreen();
  // A mistyped or cut link (a lone "%") must not stop the app: the part is taken as written.
  const decode = (part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  };
  const [, page, a, b] = location.hash.split("/").map(decode);
  switch (page) {
    case "card":
      return cardScreen(a, b);
    case "contact":
      return contactScreen(a);
    case "edit":
      return editScreen(a);
    case "browse":
      return browseScreen();
    case "review":
      return reviewScreen();
    case "history":
      return historyScreen(a).catch((e) => show(t("history"), h("p", { class: "error", role: "alert" }, String(e && e.message ? e.message : e))));
    case "discarded":
      return discardedScreen();
    case "add":
      return addScreen();
    case "local":
      return localScreen(a, b);
    case "retired":
      return retiredScreen();
    case "settings":
      return settingsScreen();
    case "print":
      return printScreen(a || settings.municipality);
    case "municipality":
      return municipalityScreen();
    case "admin":
      return adminScreen(a);
    default:
      return homeScreen();
  }
}

// ---------------------------------------------------------------------------------------------
// Signing out and being removed

// Deletes everything this device holds: the database (documents, sync states, settings) and
// any cache of this origin other than the service worker's app shell (`contactpoint-<version>`,
// the built files only, which hold no one's data).
async function wipeDevice() {
  if (sync) sync.stop();
  await store.wipe();
  if ("caches" in self) {
    const keys = await caches.keys().catch(() => []);
    await Promise.all(keys.filter((k) => !k.startsWith("contactpoint-")).map((k) => caches.delete(k).catch(() => false)));
  }
}

// The relay says an administrator revoked this device or disabled its user: the device keeps
// nothing. The page reloads from the app shell, so that nothing stays in memory either; why
// (and in which language) travels in the history entry and the sign-in screen says it.
async function removed(reason) {
  const lang = language();
  try {
    await wipeDevice();
  } catch (e) {
    // Not reloaded: the next start would find the data, ask again and come back here.
    main.replaceChildren(h("p", { class: "error", role: "alert" }, `${t("wipe_failed")}: ${e && e.message ? e.message : e}`));
    return;
  }
  history.replaceState({ removed: reason, lang }, "", location.pathname);
  location.reload();
}

// ---------------------------------------------------------------------------------------------
// What the relay says about this user at each connection: role and areas as they are now, and
// the areas' members-only documents the user may read (the catalogue does not list them). One
// the user no longer may read is answered "unavailable" and deleted like an erased document.

async function sessionUpdated(session) {
  const user = { ...(settings.user || {}), role: session.role, areas: session.areas };
  if (JSON.stringify(user) !== JSON.stringify(settings.user)) {
    settings.user = user;
    await store.setSetting("user", user);
    routeSoon();
  }
  for (const d of session.members_only_documents) await sync.open(d.id);
}

// ---------------------------------------------------------------------------------------------
// Start-up: local data first, then the network.

// Screens that show synced content are redrawn when documents change; the others (sign-in,
// municipality picker, settings) are left alone.
const LIVE_PAGES = new Set(["", "card", "contact", "browse", "review", "history", "retired", "print"]);
let routeTimer;
function routeSoon() {
  clearTimeout(routeTimer);
  routeTimer = setTimeout(() => {
    const page = location.hash.split("/")[1] || "";
    if (!settings.token || !settings.municipality || !LIVE_PAGES.has(page)) return;
    // Do not pull the screen away from someone typing.
    if (document.activeElement && document.activeElement.tagName === "INPUT") return;
    route();
  }, 150);
}

async function openIndexedDocs(preloaded) {
  for (const id of JSON.parse(client.documentIds(settings.indexDoc))) await sync.open(id, preloaded);
}

async function start() {
  settings = await store.settings();
  renderStatus();
  // Nothing is written before sign-in: a removed device's fresh store stays empty.
  if (!settings.token) return route();
  if (!settings.storageId) {
    settings.storageId = randomId();
    await store.setSetting("storageId", settings.storageId);
  }
  // A fresh peer id per running instance: two tabs never share one. It travels in every message,
  // so it is short: 64 random bits tell this device's tabs apart and never meet by chance.
  client = new Client(`tab-${randomId(8)}`, settings.storageId);
  client.setAuthor((settings.user || {}).name || "");
  sync = new Sync(client, store, settings.token, {
    onChange: async (doc) => {
      if (syncProblem && syncProblem.doc === doc) {
        syncProblem = null;
        renderStatus();
      }
      if (doc === settings.indexDoc) await openIndexedDocs();
      routeSoon();
    },
    onStatus: (state, at) => {
      lastStatus = { state, at };
      renderStatus();
    },
    onStoreError: (e) => {
      statusEl.replaceChildren(h("span", { class: "error", role: "alert" }, `${t("store_failed")}: ${e && e.message ? e.message : e}`));
    },
    onRefused: (message, doc, explained) => {
      showRefusal(message, doc, explained);
      renderStatus();
    },
    onSyncFailed: (doc, reason, retrying) => {
      syncProblem = { doc, reason, retrying };
      renderStatus();
    },
    onRemoved: (reason) => removed(reason),
    onSession: (session) => sessionUpdated(session),
    onReenter: async (values) => {
      // Edits to a document the relay replaced that could not be moved onto the new one.
      const at = new Date().toISOString();
      const kept = ((await store.getSetting("discarded")) || []).concat(values.map((d) => ({ ...d, at })));
      await store.setSetting("discarded", kept);
      settings.discarded = kept;
      routeSoon();
    },
  });
  let shown = false;
  if (settings.indexDoc) {
    // The home screen needs only the national guidance. It is shown at once from the topics it
    // showed last time (same language and day), else as soon as the national documents are open;
    // the other documents open after the first paint. Other screens wait for everything.
    const home = settings.municipality && /^#?\/?$/.test(location.hash);
    const early = settings.homeTopics;
    if (home && early && early.lang === language() && early.day === today()) {
      earlyTopics = early.topics;
      route();
      earlyTopics = null;
      shown = true;
      await painted();
    }
    // Everything stored comes out of IndexedDB in one transaction.
    const stored = await store.loadAll();
    await sync.open(settings.indexDoc, stored);
    if (home && !shown) {
      for (const id of JSON.parse(client.nationalDocumentIds(settings.indexDoc))) await sync.open(id, stored);
      route();
      shown = true;
      await painted();
    }
    await openIndexedDocs(stored);
    // Copies the index no longer lists (a document the relay erased, left from before the app
    // closed) are opened too: the relay says they are unavailable and the client deletes them.
    for (const id of stored.keys()) await sync.open(id, stored);
  }
  // A home screen shown early is drawn again (an editor's review links need the area documents),
  // unless someone is already typing a search there.
  if (!shown || document.activeElement?.id !== "q") route();
  sync.now();
  installHint();
  // A phone that was offline when it was removed learns it at its first contact.
  sync.checkSession();
}

function watchForUpdates() {
  if (!("serviceWorker" in navigator)) return;
  const banner = document.getElementById("update");
  // Reload only when the person accepted an update; the first installation also changes the
  // controller (clients.claim) and must not reload a page someone is using.
  let accepted = false;
  const offer = (worker) => {
    banner.hidden = false;
    document.getElementById("update-reload").onclick = () => {
      accepted = true;
      worker.postMessage("skip-waiting");
    };
  };
  // Only a page already running under a service worker can be out of date; on the very first
  // visit the worker installs silently.
  const controlled = !!navigator.serviceWorker.controller;
  navigator.serviceWorker.register("./sw.js").then((reg) => {
    if (!controlled) return;
    if (reg.waiting) offer(reg.waiting);
    reg.addEventListener("updatefound", () => {
      const w = reg.installing;
      w.addEventListener("statechange", () => {
        if (w.state === "installed") offer(w);
      });
    });
  });
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (accepted) location.reload();
  });
}

// The hint to install the app, shown once (install-hint.js): on the browser's install offer
// (`beforeinstallprompt`), or on iOS Safari, which has none. The module is loaded only when the
// hint is to be shown, so a first visit does not download it.
let installOffer = null;
function installHint() {
  if (!settings.token || settings.installHintDone || matchMedia("(display-mode: standalone)").matches || navigator.standalone) return;
  const ios = /iPhone|iPad|iPod/.test(navigator.userAgent) && !/CriOS|FxiOS|EdgiOS/.test(navigator.userAgent);
  if (!installOffer && !ios) return;
  const ctx = { h, t, main, offer: () => installOffer, taken: () => (installOffer = null), done: () => ((settings.installHintDone = true), store.setSetting("installHintDone", true)) };
  import("./install-hint.js")
    .then((m) => {
      addWords(m.WORDS);
      m.installHint(ctx);
    })
    .catch(() => {});
}

async function boot() {
  // The path is rewritten to the hashed file name by the build.
  await init({ module_or_path: new URL("./contactpoint_bg.wasm", import.meta.url) });
  store = await Store.open();
  // After a removal the store is new and empty; the language travelled in the history entry.
  setLanguage(pickLanguage((await store.getSetting("lang")) || (history.state && history.state.lang)));
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist();
  addEventListener("hashchange", route);
  addEventListener("beforeinstallprompt", (e) => {
    e.preventDefault();
    installOffer = e;
    installHint();
  });
  watchForUpdates();
  renderStatus();
  setInterval(tickAge, 15_000);
  await start();
}

boot().catch((e) => {
  main.replaceChildren(h("p", { class: "error", role: "alert" }, String(e && e.message ? e.message : e)));
});
