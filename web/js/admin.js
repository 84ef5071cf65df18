// @ts-check
// Administration screens: invites (a link and a QR code to print or share), users and devices
// (revoke a device, disable a user), and the audit log with filters. Everything goes through the
// relay's /api/v0/admin endpoints, which decide who may do what; these screens only leave out
// what a role cannot do. Administrators see all three, editors the invite screen for readers of
// their own areas. Text from the relay (names, details) is only ever set as text.

// These screens' words, one block per language; they join the app's catalogue when the module
// loads (`WORDS`, by key like the app's own).
const ADMIN = {
  fi: {
    admin_not_allowed: "Vain ylläpitäjät ja alueiden muokkaajat voivat käyttää ylläpitoa.",
    admin_invite_title: "Kutsu käyttäjiä",
    admin_invite_summary: "Luo kutsulinkki ja QR-koodi tulostettavaksi tai jaettavaksi.",
    admin_users_title: "Käyttäjät ja laitteet",
    admin_users_summary: "Poista kadonnut laite tai poista käyttäjä käytöstä.",
    admin_audit_title: "Tapahtumaloki",
    admin_audit_summary: "Kuka teki mitä ja milloin.",
    admin_role: "Rooli",
    admin_role_reader: "Lukija",
    admin_role_editor: "Muokkaaja",
    admin_role_admin: "Ylläpitäjä",
    admin_editor_readers_only: "Muokkaajana voit kutsua vain lukijoita omille alueillesi.",
    admin_your_areas: "Omat alueesi",
    admin_other_areas: "Muut alueet",
    admin_areas: "Alueet",
    admin_areas_hint: "Esim. 091 tai county:90, välilyönnein erotettuna",
    admin_invite_name: "Henkilön nimi (vapaaehtoinen)",
    admin_uses: "Käyttökertoja",
    admin_days_valid: "Voimassa päivää",
    admin_create_invite: "Luo kutsu",
    admin_invite_failed: "Kutsua ei luotu",
    admin_invite_ready: "Kutsu on valmis",
    admin_link: "Kutsulinkki",
    admin_qr_alt: "Kutsulinkin QR-koodi",
    admin_copy: "Kopioi linkki",
    admin_copied: "Kopioitu.",
    admin_print: "Tulosta",
    admin_share: "Jaa",
    admin_expires: "Vanhenee",
    admin_disabled: "Poistettu käytöstä",
    admin_revoked: "Poistettu",
    admin_revoke: "Poista laite",
    admin_revoke_confirm: "Poistetaanko laite? Sen tiedot poistetaan, kun se seuraavan kerran on yhteydessä:",
    admin_disable: "Poista käyttäjä käytöstä",
    admin_disable_confirm: "Poistetaanko käyttäjä käytöstä kaikilta laitteilta?",
    admin_device: "laite",
    admin_who: "Kuka",
    admin_what: "Mitä",
    admin_since: "Alkaen",
    admin_until: "Asti",
    admin_anyone: "Kuka tahansa",
    admin_anything: "Mitä tahansa",
    admin_action_invite: "Kutsut",
    admin_action_user: "Käyttäjät",
    admin_action_device: "Laitteet",
    admin_action_sync: "Muutokset",
    admin_action_document: "Asiakirjat",
    admin_action_admin: "Tietojen poistot ja torjutut pyynnöt",
    admin_filter: "Näytä",
    admin_audit_none: "Ei tapahtumia näillä ehdoilla.",
  },
  sv: {
    admin_not_allowed: "Endast administratörer och områdenas redaktörer kan använda administrationen.",
    admin_invite_title: "Bjud in användare",
    admin_invite_summary: "Skapa en inbjudningslänk och en QR-kod att skriva ut eller dela.",
    admin_users_title: "Användare och enheter",
    admin_users_summary: "Ta bort en borttappad enhet eller inaktivera en användare.",
    admin_audit_title: "Händelselogg",
    admin_audit_summary: "Vem gjorde vad och när.",
    admin_role: "Roll",
    admin_role_reader: "Läsare",
    admin_role_editor: "Redaktör",
    admin_role_admin: "Administratör",
    admin_editor_readers_only: "Som redaktör kan du bjuda in endast läsare för dina egna områden.",
    admin_your_areas: "Dina områden",
    admin_other_areas: "Andra områden",
    admin_areas: "Områden",
    admin_areas_hint: "T.ex. 091 eller county:90, åtskilda med mellanslag",
    admin_invite_name: "Personens namn (frivilligt)",
    admin_uses: "Användningar",
    admin_days_valid: "Giltig i dagar",
    admin_create_invite: "Skapa inbjudan",
    admin_invite_failed: "Inbjudan skapades inte",
    admin_invite_ready: "Inbjudan är klar",
    admin_link: "Inbjudningslänk",
    admin_qr_alt: "QR-kod för inbjudningslänken",
    admin_copy: "Kopiera länken",
    admin_copied: "Kopierad.",
    admin_print: "Skriv ut",
    admin_share: "Dela",
    admin_expires: "Går ut",
    admin_disabled: "Inaktiverad",
    admin_revoked: "Borttagen",
    admin_revoke: "Ta bort enheten",
    admin_revoke_confirm: "Ta bort enheten? Dess data raderas nästa gång den ansluter:",
    admin_disable: "Inaktivera användaren",
    admin_disable_confirm: "Inaktivera användaren på alla enheter?",
    admin_device: "enhet",
    admin_who: "Vem",
    admin_what: "Vad",
    admin_since: "Från",
    admin_until: "Till",
    admin_anyone: "Vem som helst",
    admin_anything: "Vad som helst",
    admin_action_invite: "Inbjudningar",
    admin_action_user: "Användare",
    admin_action_device: "Enheter",
    admin_action_sync: "Ändringar",
    admin_action_document: "Dokument",
    admin_action_admin: "Raderingar och nekade begäranden",
    admin_filter: "Visa",
    admin_audit_none: "Inga händelser med dessa villkor.",
  },
  en: {
    admin_not_allowed: "Only administrators and the editors of areas can use administration.",
    admin_invite_title: "Invite people",
    admin_invite_summary: "Create an invite link and a QR code to print or share.",
    admin_users_title: "Users and devices",
    admin_users_summary: "Remove a lost device or disable a user.",
    admin_audit_title: "Audit log",
    admin_audit_summary: "Who did what, and when.",
    admin_role: "Role",
    admin_role_reader: "Reader",
    admin_role_editor: "Editor",
    admin_role_admin: "Administrator",
    admin_editor_readers_only: "As an editor you can invite readers for your own areas only.",
    admin_your_areas: "Your areas",
    admin_other_areas: "Other areas",
    admin_areas: "Areas",
    admin_areas_hint: "For example 091 or county:90, separated by spaces",
    admin_invite_name: "The person's name (optional)",
    admin_uses: "Uses",
    admin_days_valid: "Valid for days",
    admin_create_invite: "Create invite",
    admin_invite_failed: "No invite was created",
    admin_invite_ready: "The invite is ready",
    admin_link: "Invite link",
    admin_qr_alt: "QR code of the invite link",
    admin_copy: "Copy the link",
    admin_copied: "Copied.",
    admin_print: "Print",
    admin_share: "Share",
    admin_expires: "Expires",
    admin_disabled: "Disabled",
    admin_revoked: "Removed",
    admin_revoke: "Remove device",
    admin_revoke_confirm: "Remove this device? Its data is deleted when it next connects:",
    admin_disable: "Disable user",
    admin_disable_confirm: "Disable this user on every device?",
    admin_device: "device",
    admin_who: "Who",
    admin_what: "What",
    admin_since: "From",
    admin_until: "To",
    admin_anyone: "Anyone",
    admin_anything: "Anything",
    admin_action_invite: "Invites",
    admin_action_user: "Users",
    admin_action_device: "Devices",
    admin_action_sync: "Changes",
    admin_action_document: "Documents",
    admin_action_admin: "Erasures and refused requests",
    admin_filter: "Show",
    admin_audit_none: "Nothing matches these filters.",
  },
};
/** @type {Record<string, Record<string, string>>} */
export const WORDS = {};
for (const [lang, words] of Object.entries(ADMIN)) for (const [key, text] of Object.entries(words)) (WORDS[key] ||= {})[lang] = text;

// What the app lends these screens: its element builder, screen, translations, and the
// signed-in user's token and role, and whether they maintain entries (the app's one check in
// permissions.js). Only types are imported.
/**
 * @typedef {{
 *   h: typeof import("./dom.js").h, show: typeof import("./dom.js").show, t: (key: string) => string,
 *   language: () => string, token: () => string | undefined, user: () => import("./state.js").User | undefined,
 *   maintains: () => boolean,
 * }} Lent
 */

/**
 * What the relay's administration endpoints answer (server/src/admin.rs).
 * @typedef {{ link: string, qr_svg: string, code: string, role: string, areas: string[], uses: number, expires_at: string }} Invite
 * @typedef {{ id: number, name: string, role: string, areas: string[], disabled_at: string | null }} AdminUser
 * @typedef {{ id: number, user_id: number, name: string, created_at: string, revoked_at: string | null }} AdminDevice
 * @typedef {{ action: string, at: string, user_id: number | null, user_name: string | null, device_id: number | null, detail: string | null, doc_id: string | null }} AuditEntry
 */

/** @type {Lent} */
let app;

function role() {
  return (app.user() || {}).role;
}

/**
 * @param {string} method
 * @param {string} path
 * @param {object} [body]
 * @returns {Promise<any>}
 */
async function call(method, path, body) {
  const res = await fetch(`/api/v0/admin/${path}`, {
    method,
    headers: { authorization: `Bearer ${app.token()}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    cache: "no-store",
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(json.error || `${res.status}`);
  return json;
}

/** @param {any} e */
function errorText(e) {
  return e instanceof TypeError ? app.t("no_network") : e && e.message ? e.message : String(e);
}

/** @param {string | number | null | undefined} rfc3339OrMs */
function when(rfc3339OrMs) {
  if (rfc3339OrMs === null || rfc3339OrMs === undefined) return "";
  const d = new Date(rfc3339OrMs);
  return d.toLocaleString(app.language() === "en" ? "en-GB" : app.language(), { dateStyle: "short", timeStyle: "short" });
}

/** @param {string} r */
function roleName(r) {
  return app.t(`admin_role_${r}`);
}

// #/admin, #/admin/invite, #/admin/users, #/admin/audit
/**
 * @param {string} page
 * @param {Lent} ctx
 */
export function adminScreen(page, ctx) {
  app = ctx;
  const { h, show, t } = app;
  if (!app.maintains()) return show(t("admin_title"), h("p", { class: "error", role: "alert" }, t("admin_not_allowed")));
  if (page === "invite") return inviteScreen();
  if (page === "users" && role() === "admin") return usersScreen();
  if (page === "audit" && role() === "admin") return auditScreen();
  const items = [h("li", {}, h("a", { href: "#/admin/invite" }, h("strong", {}, t("admin_invite_title")), t("admin_invite_summary")))];
  if (role() === "admin") {
    items.push(h("li", {}, h("a", { href: "#/admin/users" }, h("strong", {}, t("admin_users_title")), t("admin_users_summary"))));
    items.push(h("li", {}, h("a", { href: "#/admin/audit" }, h("strong", {}, t("admin_audit_title")), t("admin_audit_summary"))));
  }
  show(t("admin_title"), h("ul", { class: "list" }, items), h("p", {}, h("a", { href: "#/settings" }, t("back"))));
}

// ---------------------------------------------------------------------------------------------
// Invites

function inviteScreen() {
  const { h, show, t } = app;
  const admin = role() === "admin";
  const mine = (app.user() || {}).areas || [];
  const roleSelect = h(
    "select",
    { id: "invite-role", name: "role" },
    ["reader", "editor", "admin"].map((r) => h("option", { value: r }, roleName(r))),
  );
  // Editors choose among their own areas; administrators write any area's code.
  const areaBoxes = mine.map((a, i) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "area", value: a, checked: mine.length === 1 || undefined, id: `invite-area-${i}` }), ` ${a}`),
  );
  const areaText = h("input", { id: "invite-areas", name: "areas", autocapitalize: "none", "aria-describedby": "invite-areas-hint" });
  const name = h("input", { id: "invite-name", name: "name", maxlength: 100 });
  const uses = h("input", { id: "invite-uses", name: "uses", type: "number", min: 1, max: 10000, value: 1, inputmode: "numeric" });
  const days = h("input", { id: "invite-days", name: "days", type: "number", min: 1, max: 365, value: 14, inputmode: "numeric" });
  const err = h("p", { class: "error", role: "alert", "data-testid": "admin-error" });
  const result = h("div", { "data-testid": "invite-result" });
  const areasChosen = () =>
    areaBoxes
      .map((l) => /** @type {HTMLInputElement} */ (l.firstChild))
      .filter((b) => b.checked)
      .map((b) => b.value)
      .concat(areaText.value.split(/[\s,]+/).filter(Boolean));
  const form = h(
    "form",
    {
      novalidate: true,
      onsubmit: async (/** @type {Event} */ ev) => {
        ev.preventDefault();
        err.textContent = "";
        result.replaceChildren();
        try {
          const body = {
            role: roleSelect.value,
            areas: [...new Set(areasChosen())],
            name: name.value.trim() || null,
            uses: Number(uses.value),
            days: Number(days.value),
          };
          showInvite(result, await call("POST", "invites", body));
        } catch (e) {
          err.textContent = `${t("admin_invite_failed")}: ${errorText(e)}`;
        }
      },
    },
    h("label", { for: "invite-role" }, t("admin_role")),
    admin ? null : h("p", { class: "hint" }, t("admin_editor_readers_only")),
    roleSelect,
    mine.length ? h("fieldset", { class: "areas" }, h("legend", {}, t("admin_your_areas")), areaBoxes) : null,
    h("label", { for: "invite-areas" }, t(mine.length ? "admin_other_areas" : "admin_areas")),
    h("p", { class: "hint", id: "invite-areas-hint" }, t("admin_areas_hint")),
    areaText,
    h("label", { for: "invite-name" }, t("admin_invite_name")),
    name,
    h(
      "div",
      { class: "pair" },
      h("div", {}, h("label", { for: "invite-uses" }, t("admin_uses")), uses),
      h("div", {}, h("label", { for: "invite-days" }, t("admin_days_valid")), days),
    ),
    h("p", {}, h("button", { type: "submit", "data-testid": "create-invite" }, t("admin_create_invite"))),
    err,
  );
  show(t("admin_invite_title"), form, result, h("p", {}, h("a", { href: "#/admin" }, t("back"))));
}

/**
 * @param {HTMLElement} into
 * @param {Invite} inv
 */
function showInvite(into, inv) {
  const { h, t } = app;
  const link = h("input", { id: "invite-link", readonly: true, value: inv.link, "data-testid": "invite-link" });
  const copied = h("span", { role: "status" });
  const qr = h("img", {
    class: "qr",
    alt: `${t("admin_qr_alt")}: ${inv.link}`,
    src: `data:image/svg+xml,${encodeURIComponent(inv.qr_svg)}`,
    "data-testid": "invite-qr",
  });
  const buttons = [
    h(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(inv.link);
            copied.textContent = ` ${t("admin_copied")}`;
          } catch {
            link.select();
          }
        },
      },
      t("admin_copy"),
    ),
    h("button", { type: "button", class: "secondary", onclick: () => print() }, t("admin_print")),
  ];
  if (navigator.share)
    buttons.push(h("button", { type: "button", class: "secondary", onclick: () => navigator.share({ title: t("app_name"), url: inv.link }).catch(() => {}) }, t("admin_share")));
  into.replaceChildren(
    h("h2", {}, t("admin_invite_ready")),
    h("p", {}, `${roleName(inv.role)}${inv.areas.length ? ` · ${inv.areas.join(", ")}` : ""} · ${t("admin_uses")}: ${inv.uses} · ${t("admin_expires")}: ${when(inv.expires_at)}`),
    h("label", { for: "invite-link" }, t("admin_link")),
    link,
    h("p", { class: "admin-actions" }, buttons, copied),
    qr,
    h("p", { class: "hint" }, `${t("invite_code")}: `, h("code", { "data-testid": "invite-code" }, inv.code)),
  );
}

// ---------------------------------------------------------------------------------------------
// Users and devices

async function usersScreen() {
  const { h, show, t } = app;
  show(t("admin_users_title"), h("p", {}, t("loading")));
  /** @type {AdminUser[]} */
  let users;
  /** @type {AdminDevice[]} */
  let devices;
  try {
    [{ users }, { devices }] = await Promise.all([call("GET", "users"), call("GET", "devices")]);
  } catch (e) {
    return show(t("admin_users_title"), h("p", { class: "error", role: "alert" }, errorText(e)));
  }
  if (location.hash !== "#/admin/users") return;
  const err = h("p", { class: "error", role: "alert", "data-testid": "admin-error" });
  /** @param {string} question @param {string} method @param {string} path */
  const act = async (question, method, path) => {
    if (!confirm(question)) return;
    err.textContent = "";
    try {
      await call(method, path);
      await usersScreen();
    } catch (e) {
      err.textContent = errorText(e);
    }
  };
  const list = users.map((u) => {
    const own = devices.filter((d) => d.user_id === u.id);
    return h(
      "li",
      { class: "admin-user", "data-testid": "admin-user", "data-user": u.id },
      h("strong", {}, u.name),
      h("span", { class: "hint" }, ` · ${roleName(u.role)}${u.areas.length ? ` · ${u.areas.join(", ")}` : ""}`),
      u.disabled_at ? h("p", { class: "error" }, `${t("admin_disabled")} ${when(u.disabled_at)}`) : null,
      h(
        "ul",
        { class: "admin-devices" },
        own.map((d) =>
          h(
            "li",
            { "data-testid": "admin-device", "data-device": d.id },
            h("span", {}, d.name),
            h("span", { class: "hint" }, ` · ${when(d.created_at)}`),
            d.revoked_at
              ? h("span", { class: "hint" }, ` · ${t("admin_revoked")} ${when(d.revoked_at)}`)
              : h(
                  "button",
                  {
                    type: "button",
                    class: "secondary",
                    "data-testid": "revoke",
                    onclick: () => act(`${t("admin_revoke_confirm")} ${d.name} (${u.name})`, "POST", `devices/${d.id}/revoke`),
                  },
                  t("admin_revoke"),
                ),
          ),
        ),
      ),
      u.disabled_at
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "secondary",
              "data-testid": "disable",
              onclick: () => act(`${t("admin_disable_confirm")} ${u.name}`, "POST", `users/${u.id}/disable`),
            },
            t("admin_disable"),
          ),
    );
  });
  show(t("admin_users_title"), err, h("ul", { class: "list admin-list" }, list), h("p", {}, h("a", { href: "#/admin" }, t("back"))));
}

// ---------------------------------------------------------------------------------------------
// The audit log

const ACTIONS = ["invite", "user", "device", "sync", "document", "admin"];

/** @param {{ user?: string, action?: string, since?: string, until?: string }} [filters] */
async function auditScreen(filters = {}) {
  const { h, show, t } = app;
  /** @type {AdminUser[]} */
  let users = [];
  try {
    ({ users } = await call("GET", "users"));
  } catch {
    // The filter by person then offers no names; the log itself says what went wrong.
  }
  if (location.hash !== "#/admin/audit") return;
  const who = h(
    "select",
    { id: "audit-user" },
    h("option", { value: "" }, t("admin_anyone")),
    users.map((u) => h("option", { value: u.id, selected: String(u.id) === filters.user || undefined }, `${u.name} (${u.id})`)),
  );
  const what = h(
    "select",
    { id: "audit-action" },
    h("option", { value: "" }, t("admin_anything")),
    ACTIONS.map((a) => h("option", { value: a, selected: a === filters.action || undefined }, t(`admin_action_${a}`))),
  );
  const since = h("input", { id: "audit-since", type: "date", value: filters.since || "" });
  const until = h("input", { id: "audit-until", type: "date", value: filters.until || "" });
  const out = h("div", { "data-testid": "audit-entries" });
  const load = async () => {
    const q = new URLSearchParams();
    if (who.value) q.set("user", who.value);
    if (what.value) q.set("action", what.value);
    if (since.value) q.set("since", since.value);
    // The day chosen is included: the relay's `until` is exclusive.
    if (until.value) q.set("until", new Date(Date.parse(until.value) + 86_400_000).toISOString().slice(0, 10));
    q.set("limit", "200");
    out.replaceChildren(h("p", {}, t("loading")));
    try {
      /** @type {{ entries: AuditEntry[] }} */
      const { entries } = await call("GET", `audit?${q}`);
      out.replaceChildren(
        entries.length
          ? h(
              "ul",
              { class: "list admin-list" },
              entries.map((e) =>
                h(
                  "li",
                  { "data-testid": "audit-entry" },
                  h("strong", {}, e.action),
                  h("span", { class: "hint" }, ` · ${when(e.at)}`),
                  h("p", {}, e.user_name ? `${e.user_name} (${e.user_id})` : "—", e.device_id ? ` · ${t("admin_device")} ${e.device_id}` : ""),
                  e.detail ? h("p", { class: "hint admin-detail" }, e.detail) : null,
                  e.doc_id ? h("p", { class: "hint admin-detail" }, e.doc_id) : null,
                ),
              ),
            )
          : h("p", {}, t("admin_audit_none")),
      );
    } catch (e) {
      out.replaceChildren(h("p", { class: "error", role: "alert" }, errorText(e)));
    }
  };
  const form = h(
    "form",
    { onsubmit: (/** @type {Event} */ ev) => (ev.preventDefault(), load()) },
    h("label", { for: "audit-user" }, t("admin_who")),
    who,
    h("label", { for: "audit-action" }, t("admin_what")),
    what,
    h(
      "div",
      { class: "pair" },
      h("div", {}, h("label", { for: "audit-since" }, t("admin_since")), since),
      h("div", {}, h("label", { for: "audit-until" }, t("admin_until")), until),
    ),
    h("p", {}, h("button", { type: "submit", "data-testid": "audit-search" }, t("admin_filter"))),
  );
  show(t("admin_audit_title"), form, out, h("p", {}, h("a", { href: "#/admin" }, t("back"))));
  await load();
}
