// @ts-check
// A guidance card walked question by question to its steps and the contacts for them, and an
// area's local version of a national card, which its editors adapt.

import { content, h, show } from "./dom.js";
import { applied } from "./forms.js";
import { language, t } from "./i18n.js";
import { mayWrite } from "./permissions.js";
import { client, state } from "./state.js";
import { homeScreen } from "./screen-home.js";
import { nowLocal, today } from "./time.js";
import { contactCard, shareButton } from "./widgets.js";

/** @typedef {import("./wasm.js").LocalOp} LocalOp */

/**
 * @param {string} slug
 * @param {string} [nodeId]
 */
export function cardScreen(slug, nodeId) {
  const card = client().card(slug, state.settings.municipality || "", language(), today(), nowLocal());
  if (!card) return homeScreen();
  const node = card.nodes[nodeId || card.start];
  /** @type {(HTMLElement | null)[]} */
  const parts = [];
  if (card.stale) parts.push(h("p", {}, h("span", { class: "badge stale" }, t("stale"))));
  if (node.type === "question") {
    parts.push(content("h2", node.text));
    if (node.help) parts.push(content("p", node.help, { class: "hint" }));
    parts.push(
      h(
        "ul",
        { class: "list" },
        node.answers.map((a) => h("li", {}, h("a", { href: `#/card/${encodeURIComponent(slug)}/${encodeURIComponent(a.next)}` }, content("span", a.text)))),
      ),
    );
  } else {
    parts.push(
      h(
        "section",
        { class: `urgency urgency-${node.urgency}`, "aria-labelledby": "steps-h" },
        h("p", { class: "urgency-label" }, t(`urgency_${node.urgency}`)),
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
    if (card.do_not.length)
      parts.push(
        h(
          "section",
          { class: "donot" },
          h("h2", {}, t("do_not")),
          h(
            "ul",
            {},
            card.do_not.map((d) => content("li", d)),
          ),
        ),
      );
    // The steps as text: each step, then its contacts' names and numbers.
    const steps = node.steps.map((st, i) =>
      [`${i + 1}. ${st.text ? st.text.text : ""}`, ...st.contacts.map((c) => `   ${c.name.text}${c.phones.length ? `: ${c.phones.map((p) => p.number).join(", ")}` : ""}`)].join(
        "\n",
      ),
    );
    const here = `${location.origin}${location.pathname}#/card/${encodeURIComponent(slug)}/${encodeURIComponent(nodeId || card.start)}`;
    parts.push(shareButton({ title: card.title.text, text: [card.title.text, node.heading && node.heading.text, ...steps].filter(Boolean).join("\n"), url: here }));
  }
  parts.push(
    h(
      "p",
      { class: "row" },
      nodeId ? h("a", { class: "button secondary", href: `#/card/${encodeURIComponent(slug)}` }, t("start_over")) : null,
      h("a", { class: "button secondary", href: "#/" }, t("back")),
    ),
  );
  // Editors of an area covering the chosen municipality may adapt the card for it.
  const local = localAreas().map((a) =>
    h("li", {}, h("a", { href: `#/local/${encodeURIComponent(slug)}/${encodeURIComponent(a.area)}` }, `${t("local_version_for")}: ${a.title}`)),
  );
  if (local.length) parts.push(h("ul", { class: "local-links" }, local));
  show(card.title.text, ...parts);
}

/** The area documents covering the chosen municipality that this user may edit. */
function localAreas() {
  const { user, municipality } = state.settings;
  if (user?.role !== "admin" && user?.role !== "editor") return [];
  return client()
    .areasCovering(municipality || "", language())
    .filter((a) => mayWrite(user, a.area));
}

/**
 * An area's local version of a national card: reword steps, add local steps, remove steps the
 * national card does not require. Every button is one validated change.
 * @param {string} slug
 * @param {string} area
 * @returns {void}
 */
export function localScreen(slug, area) {
  if (!mayWrite(state.settings.user, area)) return cardScreen(slug);
  const v = client().localGuidance(slug, area, language());
  if (!v) return homeScreen();
  const areaTitle = (
    client()
      .areasCovering(state.settings.municipality || "", language())
      .find((a) => a.area === area) || { title: area }
  ).title;
  const report = h("p", { class: "error", role: "alert", "data-testid": "local-report" });
  /** @param {LocalOp} op */
  const change = (op) => {
    report.textContent = "";
    if (!applied(client().changeLocal(slug, area, op), report)) return false;
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
  const roles = client().roles(language());
  const nodes = v.nodes.map((n) => {
    const kind = h(
      "select",
      { id: `k-${n.id}` },
      kinds.map((k) => h("option", { value: k }, t(`kind_${k}`))),
    );
    const text = h("textarea", { id: `t-${n.id}`, rows: 3 });
    const role = h(
      "select",
      { id: `r-${n.id}` },
      h("option", { value: "" }, "—"),
      roles.map((r) => h("option", { value: r.role }, r.label)),
    );
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
            h(
              "p",
              {},
              h("strong", {}, t(`kind_${st.kind}`)),
              st.locked ? h("span", { class: "badge" }, ` ${t("required_nationally")}`) : null,
              st.local ? h("span", { class: "badge" }, ` ${t("local_step")}`) : null,
            ),
            h("label", { for: box.id, class: "visually-hidden" }, `${t("step_text")} (${t(`kind_${st.kind}`)})`),
            box,
            st.roles.length ? h("p", { class: "hint" }, st.roles.map((r) => (roles.find((x) => x.role === r) || { label: r }).label).join(", ")) : null,
            st.national_text ? h("p", { class: "hint" }, `${t("national_wording")}: `, h("span", { dir: "auto" }, st.national_text)) : null,
            h(
              "p",
              { class: "row" },
              h(
                "button",
                {
                  type: "button",
                  class: "secondary",
                  "data-testid": "save-wording",
                  onclick: () => change({ op: "set_text", node: n.id, step: st.id, lang: language(), text: box.value }),
                },
                t("save_wording"),
              ),
              st.locked
                ? null
                : h(
                    "button",
                    { type: "button", class: "secondary", "data-testid": "remove-step", onclick: () => change({ op: "remove_step", node: n.id, step: st.id }) },
                    t("remove_step"),
                  ),
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
        h(
          "p",
          {},
          h(
            "button",
            {
              type: "button",
              "data-testid": "add-step",
              onclick: () => change({ op: "add_step", node: n.id, kind: kind.value, lang: language(), text: text.value, roles: role.value ? [role.value] : [] }),
            },
            t("add_step"),
          ),
        ),
      ),
    );
  });
  show(
    `${t("local_guidance")}: ${v.title}`,
    h("p", {}, `${t("local_version_for")}: ${areaTitle}`),
    h("p", {}, t("local_intro")),
    report,
    ...nodes,
    h(
      "p",
      {},
      h(
        "button",
        { type: "button", class: "secondary", "data-testid": "withdraw", onclick: () => confirm(t("withdraw_local_confirm")) && change({ op: "withdraw" }) },
        t("withdraw_local"),
      ),
    ),
    back,
  );
}
