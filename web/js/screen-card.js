// @ts-check
// A guidance card walked question by question to its steps and the contacts for them, with
// links for its editors to the area's local version (screen-local.js, an editing screen).

import { content, h, show } from "./dom.js";
import { language, t } from "./i18n.js";
import { mayWrite } from "./permissions.js";
import { client, state } from "./state.js";
import { homeScreen } from "./screen-home.js";
import { nowLocal, today } from "./time.js";
import { contactCard, shareButton } from "./widgets.js";

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
