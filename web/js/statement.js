// @ts-check
// The accessibility statement that the Act on the Provision of Digital Services (306/2019)
// requires of public services, in fi/sv/en: conformance with WCAG 2.1 AA and the known gaps,
// the statement's date, the operator's feedback address and the supervisory authority. Loaded
// when first opened (on-demand.js lends it the element builder and screen); its words join the
// catalogue then.

export const WORDS = {
  a11y_intro: {
    fi: "Tämä seloste koskee Yhteyspiste-sovellusta osoitteessa {origin}. Se on laadittu digitaalisten palvelujen tarjoamisesta annetun lain (306/2019) mukaisesti {date}.",
    sv: "Detta utlåtande gäller appen Kontaktpunkt på adressen {origin}. Det har upprättats enligt lagen om tillhandahållande av digitala tjänster (306/2019) {date}.",
    en: "This statement covers the Contact Point app at {origin}. It was drawn up under the Act on the Provision of Digital Services (306/2019) on {date}.",
  },
  a11y_status_title: { fi: "Saavutettavuuden tila", sv: "Tillgänglighetsstatus", en: "Compliance status" },
  a11y_status: {
    fi: "Sovellus täyttää osittain WCAG 2.1 -ohjeiden AA-tason saavutettavuusvaatimukset. Puutteet on lueteltu alla.",
    sv: "Appen uppfyller delvis tillgänglighetskraven på nivå AA i WCAG 2.1. Bristerna räknas upp nedan.",
    en: "The app partially conforms to WCAG 2.1 level AA. The gaps are listed below.",
  },
  a11y_gaps_title: { fi: "Sisältö, joka ei ole saavutettavaa", sv: "Innehåll som inte är tillgängligt", en: "Content that is not accessible" },
  a11y_gap_language: {
    fi: "Osa virheilmoituksista näkyy englanniksi myös suomen- ja ruotsinkielisessä sovelluksessa, eikä niitä ole merkitty englanninkielisiksi: syy, jos palvelimelta tullutta päivitystä ei voitu ottaa käyttöön, lukukelvottoman asiakirjan tiedot ja uudemman palvelimen hylkäysperuste, jota sovellus ei tunne (WCAG 3.1.2).",
    sv: "En del felmeddelanden visas på engelska även i den finsk- och svenskspråkiga appen och är inte märkta som engelska: orsaken när en uppdatering från servern inte kunde tas i bruk, uppgifter om ett dokument som inte kan läsas och en nyare servers avvisningsgrund som appen inte känner till (WCAG 3.1.2).",
    en: "Some error messages appear in English in the Finnish and Swedish app too, without being marked as English: the reason an update from the relay could not be applied, details of a document that cannot be read, and a refusal by a newer relay that the app does not know (WCAG 3.1.2).",
  },
  a11y_gap_status: {
    fi: "Tilarivi kertoo, kuinka kauan viimeisestä päivityksestä on kulunut, ja muuttuu ensimmäisen tunnin ajan minuutin välein. Ruudunlukija voi lukea jokaisen muutoksen ääneen kesken muun työn (WCAG 4.1.3).",
    sv: "Statusraden visar hur länge sedan den senaste uppdateringen var och ändras varje minut under den första timmen. En skärmläsare kan läsa upp varje ändring mitt i annat arbete (WCAG 4.1.3).",
    en: "The status line says how long ago the last sync was and changes every minute in the first hour. A screen reader may announce each change in the middle of other work (WCAG 4.1.3).",
  },
  a11y_gap_time: {
    fi: "Aukioloaikojen muokkauslomakkeen kellonaikakentät ovat selaimen omia, ja niiden toimivuus ruudunlukijalla vaihtelee selaimittain.",
    sv: "Tidsfälten i formuläret för öppettider är webbläsarens egna, och hur de fungerar med skärmläsare varierar mellan webbläsare.",
    en: "The time fields of the opening hours form are the browser's own, and how well they work with a screen reader varies between browsers.",
  },
  a11y_gap_untested: {
    fi: "Saavutettavuus on tarkistettu automaattisilla testeillä (axe) sekä 320 pikselin leveydellä 200 %:n tekstikoolla, mutta ei vielä ruudunlukijoilla eikä käyttäjätesteissä. Muitakin puutteita voi siksi olla.",
    sv: "Tillgängligheten har kontrollerats med automatiska tester (axe) och i 320 pixlars bredd med 200 % textstorlek, men ännu inte med skärmläsare eller i användartester. Det kan därför finnas fler brister.",
    en: "Accessibility has been checked with automated tests (axe) and at 320 pixels wide with text at 200 %, but not yet with screen readers or in tests with users. There may therefore be other gaps.",
  },
  a11y_feedback_title: { fi: "Palaute ja yhteystiedot", sv: "Respons och kontaktuppgifter", en: "Feedback and contact information" },
  a11y_feedback: {
    fi: "Huomasitko saavutettavuuspuutteen tai tarvitsetko tietoa toisessa muodossa? Kerro siitä meille:",
    sv: "Har du märkt en tillgänglighetsbrist eller behöver du uppgifterna i en annan form? Meddela oss:",
    en: "Did you notice an accessibility problem, or do you need the information in another form? Tell us:",
  },
  a11y_feedback_unset: {
    fi: "Palautteen osoitetta ei ole vielä asetettu. Kysy sovelluksen ylläpitäjältä, joka antoi sinulle kutsun.",
    sv: "Adressen för respons har inte angetts ännu. Fråga appens administratör som gav dig inbjudan.",
    en: "The feedback address has not been set yet. Ask the administrator who gave you your invite.",
  },
  a11y_feedback_reply: {
    fi: "Palautteeseen vastataan 14 päivän kuluessa.",
    sv: "Vi svarar på responsen inom 14 dagar.",
    en: "Feedback is answered within 14 days.",
  },
  a11y_authority_title: { fi: "Valvontaviranomainen", sv: "Tillsynsmyndighet", en: "Supervisory authority" },
  a11y_authority: {
    fi: "Jos et ole tyytyväinen saamaasi vastaukseen tai et saa vastausta kahden viikon kuluessa, voit tehdä ilmoituksen valvontaviranomaiselle, Etelä-Suomen aluehallintovirastoon. Sivustolla saavutettavuusvaatimukset.fi kerrotaan, miten ilmoitus tehdään.",
    sv: "Om du inte är nöjd med svaret eller inte får något svar inom två veckor kan du göra en anmälan till tillsynsmyndigheten, Regionförvaltningsverket i Södra Finland. På webbplatsen saavutettavuusvaatimukset.fi berättas hur du gör en anmälan.",
    en: "If you are not satisfied with the answer, or get none within two weeks, you can notify the supervisory authority, the Regional State Administrative Agency for Southern Finland. The website saavutettavuusvaatimukset.fi tells how.",
  },
  a11y_authority_name: {
    fi: "Etelä-Suomen aluehallintovirasto, saavutettavuuden valvonnan yksikkö",
    sv: "Regionförvaltningsverket i Södra Finland, enheten för tillsyn över tillgänglighet",
    en: "Regional State Administrative Agency for Southern Finland, Accessibility Monitoring Unit",
  },
};

// The date this accessibility statement was last reviewed against the app.
const A11Y_STATEMENT_DATE = "2026-11-29";

// The statement, open before sign-in too. The feedback address is the operator's
// (`serve --feedback-contact`), asked of the relay and kept for offline use once signed in.
//
// What the app lends: its element builder, screen and words, the settings and a way to keep one.
/**
 * @typedef {{
 *   h: typeof import("./dom.js").h, show: typeof import("./dom.js").show, t: (key: string) => string,
 *   settings: import("./state.js").Settings, saveSetting: (key: string, value: unknown) => Promise<void>,
 * }} Lent
 */

/** @param {Lent} lent */
export async function statementScreen({ h, show, t, settings, saveSetting }) {
  /** @param {string} key @param {Record<string, string>} params */
  const fill = (key, params) => Object.entries(params).reduce((s, [k, v]) => s.replace(`{${k}}`, v), t(key));
  const feedback = h("p", { "data-testid": "feedback-contact" }, settings.feedback ? contactLink(h, settings.feedback) : t("a11y_feedback_unset"));
  show(
    t("a11y_title"),
    h("p", {}, fill("a11y_intro", { origin: location.origin, date: A11Y_STATEMENT_DATE })),
    h("h2", {}, t("a11y_status_title")),
    h("p", { "data-testid": "a11y-status" }, t("a11y_status")),
    h("h2", {}, t("a11y_gaps_title")),
    h(
      "ul",
      { "data-testid": "a11y-gaps" },
      ["a11y_gap_language", "a11y_gap_status", "a11y_gap_time", "a11y_gap_untested"].map((k) => h("li", {}, t(k))),
    ),
    h("h2", {}, t("a11y_feedback_title")),
    h("p", {}, t("a11y_feedback")),
    feedback,
    h("p", {}, t("a11y_feedback_reply")),
    h("h2", {}, t("a11y_authority_title")),
    h("p", {}, t("a11y_authority")),
    h("p", {}, t("a11y_authority_name"), h("br"), h("a", { href: "https://www.saavutettavuusvaatimukset.fi/", lang: "fi" }, "www.saavutettavuusvaatimukset.fi")),
    h("p", {}, h("a", { class: "button secondary", href: "#/" }, t("back"))),
  );
  try {
    const res = await fetch("/api/v0/about");
    if (!res.ok) return;
    const about = await res.json();
    if (about.feedback === (settings.feedback ?? null)) return;
    settings.feedback = about.feedback;
    await saveSetting("feedback", about.feedback);
    feedback.replaceChildren(about.feedback ? contactLink(h, about.feedback) : t("a11y_feedback_unset"));
  } catch {
    // Offline: the address kept from before, or the note that there is none.
  }
}

// An e-mail address as a mailto link, a web address as a link, anything else as text.
/** @param {Lent["h"]} h @param {string} text */
function contactLink(h, text) {
  if (/^https?:\/\//.test(text)) return h("a", { href: text, dir: "ltr" }, text);
  if (/^[^\s@]+@[^\s@]+$/.test(text)) return h("a", { href: `mailto:${text}`, dir: "ltr" }, text);
  return h("span", { dir: "auto" }, text);
}
