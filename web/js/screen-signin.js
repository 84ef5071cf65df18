// @ts-check
// Signing in with an invite code, in a language chosen on the spot, and why a removed device
// was signed out.

import { h, show } from "./dom.js";
import { language, t, tm } from "./i18n.js";
import { languageSelect } from "./forms.js";
import { start } from "./session.js";
import { state } from "./state.js";

// Why this device was signed out by the relay, when it was: kept in the page's history entry
// (with the language), since everything the store held is gone.
function removedNotice() {
  const reason = history.state && history.state.removed;
  return reason === "revoked" || reason === "disabled" ? t(`removed_${reason}`) : null;
}

/** @param {string} [error] */
export function signInScreen(error) {
  const { store } = state;
  const notice = removedNotice();
  const code = h("input", {
    id: "code",
    name: "code",
    autocomplete: "one-time-code",
    autocapitalize: "characters",
    required: true,
    value: new URLSearchParams(location.search).get("invite") || "",
  });
  const device = h("input", { id: "device", name: "device", required: true, value: "" });
  const err = h("p", { class: "error", role: "alert" }, error || "");
  const form = h(
    "form",
    {
      onsubmit: async (/** @type {Event} */ ev) => {
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
          err.textContent = `${t("sign_in_failed")}: ${e instanceof TypeError ? t("no_network") : /** @type {Error} */ (e).message}`;
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
    signInScreen(err.textContent || "");
    /** @type {HTMLInputElement} */ (document.getElementById("code")).value = typed.code;
    /** @type {HTMLInputElement} */ (document.getElementById("device")).value = typed.device;
    /** @type {HTMLElement} */ (document.getElementById("signin-lang")).focus();
  });
  show(
    t("sign_in_title"),
    h("p", { class: "row lang-choice" }, h("label", { for: "signin-lang", class: "inline" }, t("language")), lang),
    notice ? h("p", { id: "removed", class: "error", role: "alert", "data-testid": "removed" }, notice) : null,
    form,
  );
}
