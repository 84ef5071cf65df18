// @ts-check
// The editors' lists: the review queue, the retired entries, and the values a reset discarded,
// kept to be entered again.

import { client, fieldLabel, h, language, reviewAreas, show, state, t, today } from "./lent.js";

export function reviewScreen() {
  const items = client().reviewQueue(reviewAreas(state.settings.user), today(), language());
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

export function retiredScreen() {
  const items = client().retired(reviewAreas(state.settings.user), language());
  show(
    t("retired_list"),
    items.length
      ? h(
          "ul",
          { class: "list" },
          items.map((i) =>
            h(
              "li",
              { "data-testid": "retired-item" },
              h("a", { href: `#/contact/${encodeURIComponent(i.id)}` }, h("strong", {}, i.name), `${t("retired_on")} ${i.retired} · ${i.area}`),
            ),
          ),
        )
      : h("p", {}, t("retired_empty")),
    h("p", {}, h("a", { class: "button secondary", href: "#/" }, t("back"))),
  );
}

export function discardedScreen() {
  const list = state.settings.discarded || [];
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
                await state.store.setSetting("discarded", []);
                state.settings.discarded = [];
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
