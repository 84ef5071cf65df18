// @ts-check
// An area's local version of a national card, which the area's editors adapt: part of the
// editing screens (editing.js), reaching the app's modules through lent.js.

import { applied, cardScreen, client, h, homeScreen, language, mayWrite, show, state, t } from "./lent.js";

/** @typedef {import("./wasm.js").LocalOp} LocalOp */

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
