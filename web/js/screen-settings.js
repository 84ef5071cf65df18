// @ts-check
// The settings: language, municipality, who is signed in, the administration link and signing
// out.

import { h, show } from "./dom.js";
import { languageSelect } from "./forms.js";
import { language, t } from "./i18n.js";
import { maintains } from "./permissions.js";
import { forgetHome } from "./screen-home.js";
import { wipeDevice } from "./session.js";
import { changed, client, state } from "./state.js";

export function settingsScreen() {
  const { settings } = state;
  const lang = languageSelect("lang", async (l) => {
    // The home screen's snapshot is in the language it was drawn in: the next drawing keeps one
    // in this language, and a start before that waits for the documents.
    forgetHome();
    await state.store.setSetting("lang", l);
    changed();
    settingsScreen();
    /** @type {HTMLElement} */ (document.getElementById("lang")).focus();
  });
  const user = settings.user || {};
  show(
    t("settings"),
    h("label", { for: "lang" }, t("language")),
    lang,
    h("p", {}, h("a", { href: "#/municipality" }, `${t("municipality")}: ${settings.municipality ? client().municipality(settings.municipality, language()).name : "—"}`)),
    h("p", {}, `${t("signed_in_as")}: ${user.name || "—"} (${user.role ? t(`role_${user.role}`) : "—"})`),
    maintains(user) ? h("p", {}, h("a", { href: "#/admin", "data-testid": "admin-link" }, t("admin_title"))) : null,
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
