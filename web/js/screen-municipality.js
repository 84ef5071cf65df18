// @ts-check
// Choosing the municipality whose contacts the app shows.

import { h, show } from "./dom.js";
import { language, t } from "./i18n.js";
import { route } from "./routes.js";
import { client, state } from "./state.js";

export function municipalityScreen() {
  const input = h("input", { id: "muni", type: "search", autocomplete: "off", "aria-describedby": "muni-hint" });
  const list = h("ul", { class: "list", "aria-live": "polite" });
  const render = () => {
    const hits = client().municipalities(input.value, language());
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
                await state.store.setSetting("municipality", m.code);
                state.settings.municipality = m.code;
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
