// @ts-check
// A municipality's contact sheet for paper (`#/print/{code}`), loaded when first opened: the
// key roles' contacts as the app resolves them, on one A4 page with the data's date and the
// app's address. on-demand.js lends it the element builder, screen, client and settings; the words
// join the app's catalogue when the module loads.

export const WORDS = {
  print_title: { fi: "Keneen ottaa yhteyttä huolen herätessä", sv: "Vem kontaktar jag vid oro", en: "Whom to contact when worried" },
  print_intro: {
    fi: "Kun olet huolissasi väkivaltaisesta ekstremismistä tai viharikoksesta. Hätätilanteessa soita aina 112.",
    sv: "När du är orolig för våldsbejakande extremism eller hatbrott. I en nödsituation ring alltid 112.",
    en: "When you are worried about violent extremism or a hate crime. In an emergency always call 112.",
  },
  print_button: { fi: "Tulosta", sv: "Skriv ut", en: "Print" },
  print_none: {
    fi: "Tälle kunnalle ei löytynyt yhteystietoja.",
    sv: "Inga kontakter hittades för den här kommunen.",
    en: "No contacts were found for this municipality.",
  },
  data_checked: { fi: "Tiedot tarkistettu viimeksi", sv: "Uppgifterna senast kontrollerade", en: "Data last checked" },
  data_synced: { fi: "Päivitetty tälle laitteelle", sv: "Uppdaterad på den här enheten", en: "Updated on this device" },
  printed_on: { fi: "Tulostettu", sv: "Utskriven", en: "Printed" },
  app_address: { fi: "Ajantasaiset tiedot ja ohjeet", sv: "Aktuella uppgifter och anvisningar", en: "Current contacts and guidance" },
};

// The roles a printed contact sheet lists, in this order: those a professional would call first.
const PRINT_ROLES = [
  "emergency",
  "police_local",
  "social_emergency",
  "child_welfare_intake",
  "local_cooperation_group",
  "municipal_contact_person",
  "anchor_team",
  "student_welfare",
  "exit_service",
  "anti_violence_service",
  "victim_support",
  "child_helpline",
  "police_online_tip",
];

// A municipality's key contacts on one printed A4 page: for each role, the contacts the guidance
// would show there (most specific first, at most two, two numbers each), the newest check
// date among them, the day the data last reached this device, and the app's address. They are
// chosen as at a weekday's office hours, so that the sheet does not depend on when it is printed.
//
// What the app lends: its element builder, screen, words, texts, the wasm client (the typed
// wrapper), the settings, the language, the date and the home screen. Only types are imported.
/**
 * @typedef {{
 *   h: typeof import("./dom.js").h, show: typeof import("./dom.js").show, t: (key: string) => string,
 *   content: typeof import("./dom.js").content, client: import("./wasm.js").Wasm,
 *   settings: import("./state.js").Settings, language: () => string, today: () => string,
 *   finnishDate: (at: Date) => string, home: () => void,
 * }} Lent
 */
/** @typedef {import("./wasm.js").Contact} Contact */

/**
 * @param {string} code
 * @param {Lent} lent
 */
export function printScreen(code, { h, show, t, content, client, settings, language, today, finnishDate, home }) {
  const muni = client.municipality(code, language());
  if (!muni) return home();
  const groups = client.browse(code, language(), today(), "we 10:00");
  const byRole = new Map(groups.map((g) => [g.role, g]));
  const shown = PRINT_ROLES.flatMap((r) => {
    const g = byRole.get(r);
    return g ? [{ ...g, contacts: g.contacts.slice(0, 2) }] : [];
  });
  const checked = shown
    .flatMap((g) => g.contacts.map((c) => c.verified_at))
    .filter(Boolean)
    .sort()
    .pop();
  /** @param {Contact} c */
  const reach = (c) =>
    c.phones.length
      ? c.phones.slice(0, 2).map((p) => h("a", { class: "tel", href: `tel:${p.number.replace(/[^+\d]/g, "")}`, dir: "ltr" }, p.number))
      : [c.email || c.url || ""].filter(Boolean).map((x) => h("span", { dir: "ltr" }, x));
  /** @param {string} label @param {string | null | undefined} value */
  const dated = (label, value) => (value ? h("li", {}, `${label}: `, h("span", { dir: "ltr" }, value)) : null);
  show(
    `${t("print_title")}: ${muni.name}`,
    h("p", { class: "row no-print" }, h("button", { type: "button", onclick: () => print() }, t("print_button")), h("a", { class: "button secondary", href: "#/" }, t("back"))),
    h("p", { class: "print-intro" }, t("print_intro")),
    shown.length
      ? h(
          "dl",
          { class: "print-sheet", "data-testid": "print-sheet" },
          shown.flatMap((g) => [
            h("dt", { "data-role": g.role }, g.label),
            ...g.contacts.map((c) => h("dd", { "data-role": g.role }, content("span", c.name, { class: "print-name" }), " ", h("span", { class: "print-reach" }, reach(c)))),
          ]),
        )
      : h("p", {}, t("print_none")),
    h(
      "ul",
      { class: "print-meta", "data-testid": "print-meta" },
      dated(t("data_checked"), checked),
      dated(t("data_synced"), settings.lastSynced ? finnishDate(new Date(settings.lastSynced)) : null),
      dated(t("printed_on"), today()),
      h("li", {}, `${t("app_address")}: `, h("a", { href: location.origin, dir: "ltr" }, location.origin)),
    ),
  );
}
