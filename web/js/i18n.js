// @ts-check
// User-interface strings in Finnish, Swedish and English. Content (contacts, guidance) carries
// its own languages; these are only the app's own words.

export const LANGS = ["fi", "sv", "en"];

/** @typedef {Record<string, string>} Words A word or phrase by language. */

/** @type {Record<string, Words>} */
const T = {
  app_name: { fi: "Yhteyspiste", sv: "Kontaktpunkt", en: "Contact Point" },
  skip_to_content: { fi: "Siirry sisältöön", sv: "Hoppa till innehållet", en: "Skip to content" },
  settings: { fi: "Asetukset", sv: "Inställningar", en: "Settings" },
  loading: { fi: "Ladataan…", sv: "Laddar…", en: "Loading…" },
  update_available: { fi: "Uusi versio saatavilla.", sv: "En ny version finns.", en: "A new version is available." },
  reload: { fi: "Lataa uudelleen", sv: "Ladda om", en: "Reload" },
  emergency_note: { fi: "Hätätilanteessa soita aina", sv: "I en nödsituation ring alltid", en: "In an emergency always call" },
  credit: { fi: "Kuntatiedot: Tilastokeskus (CC BY 4.0)", sv: "Kommundata: Statistikcentralen (CC BY 4.0)", en: "Municipality data: Statistics Finland (CC BY 4.0)" },
  offline: { fi: "Ei yhteyttä", sv: "Ingen anslutning", en: "Offline" },
  connecting: { fi: "Yhdistetään…", sv: "Ansluter…", en: "Connecting…" },
  syncing: { fi: "Päivitetään…", sv: "Uppdaterar…", en: "Updating…" },
  online: { fi: "Ajan tasalla", sv: "Uppdaterad", en: "Up to date" },
  last_synced: { fi: "päivitetty", sv: "synkad", en: "last synced" },
  just_now: { fi: "juuri nyt", sv: "nyss", en: "just now" },
  more_problems: { fi: "(ja {n} muuta ongelmaa)", sv: "(och {n} problem till)", en: "(and {n} more problems)" },
  in_lang_fi: { fi: "suomeksi", sv: "på finska", en: "in Finnish" },
  in_lang_sv: { fi: "ruotsiksi", sv: "på svenska", en: "in Swedish" },
  in_lang_en: { fi: "englanniksi", sv: "på engelska", en: "in English" },
  role_reader: { fi: "lukija", sv: "läsare", en: "reader" },
  role_editor: { fi: "muokkaaja", sv: "redigerare", en: "editor" },
  role_admin: { fi: "ylläpitäjä", sv: "administratör", en: "administrator" },
  never_synced: { fi: "ei vielä päivitetty", sv: "inte uppdaterad ännu", en: "not synced yet" },
  sign_in_title: { fi: "Ota sovellus käyttöön", sv: "Ta appen i bruk", en: "Start using the app" },
  sign_in_text: {
    fi: "Syötä kutsukoodi, jonka sait ylläpitäjältä.",
    sv: "Ange inbjudningskoden du fick av administratören.",
    en: "Enter the invite code you received from an administrator.",
  },
  invite_code: { fi: "Kutsukoodi", sv: "Inbjudningskod", en: "Invite code" },
  device_name: { fi: "Laitteen nimi", sv: "Enhetens namn", en: "Device name" },
  device_name_hint: { fi: "Esim. työpuhelin", sv: "T.ex. jobbtelefon", en: "For example: work phone" },
  sign_in: { fi: "Ota käyttöön", sv: "Ta i bruk", en: "Sign in" },
  removed_revoked: {
    fi: "Ylläpitäjä poisti tämän laitteen Yhteyspisteestä, joten sen tiedot poistettiin tästä laitteesta. Pyydä uusi kutsu kirjautuaksesi uudelleen.",
    sv: "En administratör tog bort den här enheten från Kontaktpunkt, så dess data raderades från enheten. Be om en ny inbjudan för att logga in igen.",
    en: "This device was removed from Contact Point by an administrator, so its data was deleted from this device. Ask for a new invite to sign in again.",
  },
  removed_disabled: {
    fi: "Ylläpitäjä poisti käyttäjätilisi käytöstä, joten Yhteyspisteen tiedot poistettiin tästä laitteesta. Pyydä uusi kutsu, jos tarvitset sovellusta edelleen.",
    sv: "En administratör inaktiverade ditt konto, så Kontaktpunkts data raderades från den här enheten. Be om en ny inbjudan om du fortfarande behöver appen.",
    en: "Your account was disabled by an administrator, so Contact Point's data was deleted from this device. Ask for a new invite if you still need the app.",
  },
  wipe_failed: {
    fi: "Tämän laitteen tietojen poistaminen epäonnistui",
    sv: "Det gick inte att radera data på den här enheten",
    en: "Deleting the data on this device failed",
  },
  sign_in_failed: { fi: "Käyttöönotto ei onnistunut", sv: "Det gick inte att ta appen i bruk", en: "Signing in failed" },
  no_network: {
    fi: "Ei verkkoyhteyttä. Yritä uudelleen, kun verkko toimii.",
    sv: "Ingen nätverksanslutning. Försök igen när nätet fungerar.",
    en: "No network connection. Try again when you are online.",
  },
  pick_municipality: { fi: "Valitse kuntasi", sv: "Välj din kommun", en: "Choose your municipality" },
  pick_municipality_text: {
    fi: "Näytämme yhteystiedot, jotka palvelevat tätä kuntaa. Voit vaihtaa sen asetuksissa.",
    sv: "Vi visar kontakter som betjänar denna kommun. Du kan ändra den i inställningarna.",
    en: "We show the contacts that serve this municipality. You can change it in settings.",
  },
  municipality: { fi: "Kunta", sv: "Kommun", en: "Municipality" },
  search_municipality: { fi: "Hae kuntaa (suomeksi tai ruotsiksi)", sv: "Sök kommun (på finska eller svenska)", en: "Search municipality (Finnish or Swedish name)" },
  what_worries: { fi: "Mikä huolettaa?", sv: "Vad oroar dig?", en: "What are you worried about?" },
  search: { fi: "Hae yhteystietoja", sv: "Sök kontakter", en: "Search contacts" },
  search_hint: { fi: "Nimi, palvelu tai paikkakunta", sv: "Namn, tjänst eller ort", en: "Name, service or place" },
  no_results: { fi: "Ei tuloksia.", sv: "Inga resultat.", en: "No results." },
  browse: { fi: "Kaikki yhteystiedot alueellasi", sv: "Alla kontakter i ditt område", en: "All contacts for your area" },
  back: { fi: "Takaisin", sv: "Tillbaka", en: "Back" },
  start_over: { fi: "Aloita alusta", sv: "Börja om", en: "Start over" },
  do_not: { fi: "Älä", sv: "Gör inte så här", en: "Do not" },
  legal_basis: { fi: "Peruste", sv: "Grund", en: "Legal basis" },
  why_contact: { fi: "Miksi tämä", sv: "Varför denna", en: "Why this" },
  example: { fi: "Esimerkkitieto – ei oikea yhteystieto", sv: "Exempeldata – inte en riktig kontakt", en: "Example data — not a real contact" },
  stale: { fi: "Voi olla vanhentunut", sv: "Kan vara föråldrad", en: "May be out of date" },
  open_now: { fi: "Auki nyt", sv: "Öppet nu", en: "Open now" },
  closed_now: { fi: "Suljettu nyt", sv: "Stängt nu", en: "Closed now" },
  members_only: { fi: "Vain alueen jäsenille", sv: "Endast för områdets medlemmar", en: "Area members only" },
  languages: { fi: "Kielet", sv: "Språk", en: "Languages" },
  no_contact: {
    fi: "Paikallista yhteystietoa ei löytynyt. Soita hätätilanteessa 112.",
    sv: "Ingen lokal kontakt hittades. Ring 112 i en nödsituation.",
    en: "No local contact found. In an emergency call 112.",
  },
  urgency_emergency: { fi: "Hätätilanne – toimi heti", sv: "Nödsituation – agera genast", en: "Emergency — act now" },
  urgency_urgent: { fi: "Kiireellinen", sv: "Brådskande", en: "Urgent" },
  urgency_concern: { fi: "Huoli", sv: "Oro", en: "Concern" },
  urgency_information: { fi: "Tietoa", sv: "Information", en: "Information" },
  language: { fi: "Kieli", sv: "Språk", en: "Language" },
  sign_out: { fi: "Kirjaudu ulos ja poista tiedot tästä laitteesta", sv: "Logga ut och radera data från denna enhet", en: "Sign out and delete data from this device" },
  sign_out_confirm: { fi: "Poistetaanko kaikki tämän laitteen tiedot?", sv: "Radera alla data på denna enhet?", en: "Delete all data on this device?" },
  signed_in_as: { fi: "Käyttäjä", sv: "Användare", en: "Signed in as" },
  store_failed: {
    fi: "Tallennus tähän laitteeseen epäonnistui (onko tila lopussa?)",
    sv: "Det gick inte att spara på denna enhet (är lagringen full?)",
    en: "Saving on this device failed (is storage full?)",
  },
  refused: { fi: "Palvelin hylkäsi muutoksen", sv: "Servern avvisade ändringen", en: "The relay refused a change" },
  not_verified_police: { fi: "Poliisilaitoksen alue ei ole vahvistettu", sv: "Polisinrättningens område är inte bekräftat", en: "Police department area not confirmed" },
  phone: { fi: "Puhelin", sv: "Telefon", en: "Phone" },
  email: { fi: "Sähköposti", sv: "E-post", en: "E-mail" },
  website: { fi: "Verkkosivu", sv: "Webbplats", en: "Website" },
  contact_details: { fi: "Yhteystiedot", sv: "Kontaktuppgifter", en: "Contact details" },
  verified: { fi: "Tarkistettu", sv: "Kontrollerad", en: "Verified" },
  shown_in: { fi: "näytetään kielellä", sv: "visas på", en: "shown in" },
  edit: { fi: "Muokkaa", sv: "Redigera", en: "Edit" },
  review_queue: { fi: "Tarkistettavat", sv: "Att granska", en: "Review queue" },
  reason_replace_example: { fi: "esimerkkitieto: korvaa oikealla", sv: "exempeldata: ersätt med riktiga uppgifter", en: "example data: replace with the real details" },
  reason_never_verified: { fi: "ei koskaan tarkistettu", sv: "aldrig granskad", en: "never verified" },
  reason_not_verified_recently: { fi: "tarkistettu yli 180 päivää sitten", sv: "granskad för över 180 dagar sedan", en: "not verified for 180 days" },
  reason_review_date_passed: { fi: "tarkistuspäivä ohitettu", sv: "granskningsdatum passerat", en: "review date passed" },
  reason_card_review_due: { fi: "ohjeen tarkistus erääntynyt", sv: "anvisningens granskning förfallen", en: "guidance review due" },
  name: { fi: "Nimi", sv: "Namn", en: "Name" },
  saved_offline: {
    fi: "Tallennettu tähän laitteeseen; lähetetään, kun yhteys toimii.",
    sv: "Sparat på denna enhet; skickas när anslutningen fungerar.",
    en: "Saved on this device; it will be sent when the connection works.",
  },
  history: { fi: "Muutoshistoria", sv: "Ändringshistorik", en: "History" },
  on_date: { fi: "", sv: "den", en: "on" },
  verified_by: { fi: "Tarkistaja", sv: "Kontrollerad av", en: "Verified by" },
  conflict_title: { fi: "Samanaikaiset muutokset", sv: "Samtidiga ändringar", en: "Changes made at the same time" },
  conflict_text: {
    fi: "Kaksi muokkaajaa muutti samaa kohtaa samaan aikaan. Valitse, mikä arvo säilytetään; valinta näkyy kaikilla laitteilla.",
    sv: "Två redigerare ändrade samma fält samtidigt. Välj vilket värde som ska behållas; valet syns på alla enheter.",
    en: "Two editors changed the same field at the same time. Choose which value to keep; the choice reaches every device.",
  },
  keep: { fi: "Säilytä", sv: "Behåll", en: "Keep" },
  shown_now: { fi: "näytetään nyt", sv: "visas nu", en: "shown now" },
  refused_held: {
    fi: "Tämän alueen muutoksia ei lähetetä, ennen kuin palautat sen palvelimen versioon. Hylätyt arvot säilytetään, jotta voit syöttää ne uudelleen korjattuina.",
    sv: "Ändringar i detta område skickas inte förrän du återställer det till serverns version. De avvisade värdena sparas så att du kan mata in dem igen rättade.",
    en: "Changes to this document are not sent until you reset it to the relay's version. The refused values are kept so you can enter them again, corrected.",
  },
  reset_doc: { fi: "Palauta palvelimen versioon", sv: "Återställ till serverns version", en: "Reset to the relay's version" },
  discarded: { fi: "Uudelleen syötettävät arvot", sv: "Värden att mata in igen", en: "Values to enter again" },
  retired_on: { fi: "Poistettu käytöstä", sv: "Tagen ur bruk", en: "Retired on" },
  retire_contact: { fi: "Poista käytöstä", sv: "Ta ur bruk", en: "Retire this contact" },
  retire_confirm: {
    fi: "Poistetaanko yhteystieto käytöstä? Se säilyy ja voidaan palauttaa.",
    sv: "Ta kontakten ur bruk? Den sparas och kan återställas.",
    en: "Retire this contact? It is kept and can be restored.",
  },
  restore_contact: { fi: "Palauta käyttöön", sv: "Återställ", en: "Restore this contact" },
  add_contact: { fi: "Lisää yhteystieto", sv: "Lägg till kontakt", en: "Add a contact" },
  retired_list: { fi: "Käytöstä poistetut", sv: "Tagna ur bruk", en: "Retired contacts" },
  local_version_for: { fi: "Paikallinen versio", sv: "Lokal version", en: "Local version for" },
  saved: { fi: "Tallennettu.", sv: "Sparat.", en: "Saved." },
  kind_call: { fi: "Soita", sv: "Ring", en: "Call" },
  kind_notify: { fi: "Tee ilmoitus", sv: "Gör en anmälan", en: "Notify" },
  kind_consult: { fi: "Konsultoi", sv: "Konsultera", en: "Consult" },
  kind_refer: { fi: "Ohjaa palveluun", sv: "Hänvisa", en: "Refer" },
  kind_support: { fi: "Tue", sv: "Stöd", en: "Support" },
  kind_document_elsewhere: { fi: "Kirjaa omaan järjestelmään", sv: "Dokumentera i eget system", en: "Record in your own system" },
  kind_follow_up: { fi: "Seuraa", sv: "Följ upp", en: "Follow up" },
  kind_info: { fi: "Tietoa", sv: "Information", en: "Information" },
  sync_failed_retrying: {
    fi: "Palvelimen päivitystä ei voitu ottaa käyttöön, haetaan tuore kopio",
    sv: "Uppdateringen från servern kunde inte tillämpas, en ny kopia hämtas",
    en: "An update from the relay could not be applied; fetching a fresh copy",
  },
  sync_failed_waiting: {
    fi: "Palvelimen päivitystä ei voitu ottaa käyttöön, yritetään uudelleen seuraavalla yhteydellä",
    sv: "Uppdateringen från servern kunde inte tillämpas, nytt försök vid nästa anslutning",
    en: "An update from the relay could not be applied; trying again on the next connection",
  },
  unreadable_kept: {
    fi: "Osaa tiedoista ei voitu lukea, näytetään viimeisin luettavissa ollut versio",
    sv: "En del av uppgifterna kunde inte läsas, den senaste läsbara versionen visas",
    en: "Some of the data could not be read; showing the last version that could",
  },
  unreadable_missing: {
    fi: "Osaa tiedoista ei voitu lukea, eikä niistä ole aiempaa versiota",
    sv: "En del av uppgifterna kunde inte läsas och det finns ingen tidigare version",
    en: "Some of the data could not be read and there is no earlier version",
  },
  held_status: { fi: "Hylättyä muutosta ei lähetetä", sv: "Den avvisade ändringen skickas inte", en: "The refused change is not being sent" },
  details: { fi: "Lisätiedot", sv: "Detaljer", en: "Details" },
  hours_regular: { fi: "Tavallinen aukioloaika", sv: "Ordinarie öppettid", en: "Regular hours" },
  hours_out_of_hours: { fi: "Päivystys virka-ajan ulkopuolella", sv: "Jour utanför tjänstetid", en: "Out-of-hours service" },
  days: { fi: "Päivät", sv: "Dagar", en: "Days" },
  day_MO: { fi: "ma", sv: "må", en: "Mon" },
  day_TU: { fi: "ti", sv: "ti", en: "Tue" },
  day_WE: { fi: "ke", sv: "on", en: "Wed" },
  day_TH: { fi: "to", sv: "to", en: "Thu" },
  day_FR: { fi: "pe", sv: "fr", en: "Fri" },
  day_SA: { fi: "la", sv: "lö", en: "Sat" },
  day_SU: { fi: "su", sv: "sö", en: "Sun" },
  day_MO_long: { fi: "maanantai", sv: "måndag", en: "Monday" },
  day_TU_long: { fi: "tiistai", sv: "tisdag", en: "Tuesday" },
  day_WE_long: { fi: "keskiviikko", sv: "onsdag", en: "Wednesday" },
  day_TH_long: { fi: "torstai", sv: "torsdag", en: "Thursday" },
  day_FR_long: { fi: "perjantai", sv: "fredag", en: "Friday" },
  day_SA_long: { fi: "lauantai", sv: "lördag", en: "Saturday" },
  day_SU_long: { fi: "sunnuntai", sv: "söndag", en: "Sunday" },
  print_sheet: { fi: "Tulostettava yhteystietolista", sv: "Kontaktlista att skriva ut", en: "Printable contact sheet" },
  // Sharing a contact or a card.
  share: { fi: "Jaa", sv: "Dela", en: "Share" },
  copied: { fi: "Kopioitu leikepöydälle.", sv: "Kopierat till urklipp.", en: "Copied to the clipboard." },
  copy_failed: {
    fi: "Kopiointi ei onnistunut. Valitse ja kopioi teksti alta.",
    sv: "Det gick inte att kopiera. Markera och kopiera texten nedan.",
    en: "Copying did not work. Select and copy the text below.",
  },
  // Who may change a contact.
  you_may_edit: { fi: "Voit muokata tätä", sv: "Du kan redigera den här", en: "You can edit this" },
  maintained_by: { fi: "Tietoja ylläpitää", sv: "Uppgifterna sköts av", en: "Maintained by" },
  // The accessibility statement (Act on the Provision of Digital Services 306/2019).
  a11y_title: { fi: "Saavutettavuusseloste", sv: "Tillgänglighetsutlåtande", en: "Accessibility statement" },
  maintainer_national: { fi: "valtakunnallinen ylläpito", sv: "det nationella underhållet", en: "the national editors" },
  // Words the wasm client names fields with (a conflict's field on the contact screen, a change
  // in the history).
  phone_n: { fi: "Puhelinnumero", sv: "Telefonnummer", en: "Phone number" },
  hours_row: { fi: "Aukioloaika", sv: "Öppettid", en: "Opening hours" },
  description: { fi: "Kuvaus", sv: "Beskrivning", en: "Description" },
  hours_note: { fi: "Lisätietoa aukioloajoista", sv: "Mer om öppettiderna", en: "Note about the hours" },
};

let current = "fi";

/** @param {string | undefined} saved */
export function pickLanguage(saved) {
  if (saved && LANGS.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || "fi"]) {
    const base = l.slice(0, 2).toLowerCase();
    if (LANGS.includes(base)) return base;
  }
  return "fi";
}

/** @param {string} lang */
export function setLanguage(lang) {
  current = LANGS.includes(lang) ? lang : "fi";
  document.documentElement.lang = current;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(/** @type {HTMLElement} */ (el).dataset.t || "");
}

export function language() {
  return current;
}

/** @param {string} key */
export function t(key) {
  const e = T[key];
  return e ? e[current] || e.en : key;
}

// The rules' and the relay's messages by code (validation issues, refusals, the relay's HTTP
// errors), `{name}` marking a parameter. English comes with each message from the rules or the
// relay; these are its Finnish and Swedish wording.
/** @type {Record<string, Words>} */
const M = {
  time_pair: {
    fi: "Anna sekä avautumis- että sulkeutumisaika, tai ei kumpaakaan, jos palvelu on auki ympäri vuorokauden.",
    sv: "Ange både öppnings- och stängningstid, eller ingen av dem för dygnet runt.",
  },
  date: { fi: "Kirjoita päivämäärä muodossa VVVV-KK-PP.", sv: "Skriv datumet som ÅÅÅÅ-MM-DD." },
  language: { fi: "Käytä kielikoodia, kuten fi, sv tai en.", sv: "Använd en språkkod som fi, sv eller en." },
  areas_required: {
    fi: "Luettele kunnat, hyvinvointialue tai poliisilaitoksen alue, jota tämä yhteystieto palvelee.",
    sv: "Ange de kommuner, det välfärdsområde eller polisområde som kontakten betjänar.",
  },
  person_not_national: {
    fi: "Nimetyt henkilöt kuuluvat alueiden asiakirjoihin, ei valtakunnalliseen.",
    sv: "Namngivna personer hör till områdesdokument, inte till det nationella dokumentet.",
  },
  person_review: { fi: "Nimetylle henkilölle tarvitaan tarkistuspäivä (review_by).", sv: "En namngiven person behöver ett granskningsdatum (review_by)." },
  personal_id: {
    fi: "Tämä teksti näyttää henkilötunnukselta. Älä koskaan tallenna tänne tietoja yksittäisistä ihmisistä.",
    sv: "Den här texten ser ut som en personbeteckning. Spara aldrig uppgifter om enskilda personer här.",
  },
  slug: { fi: "Tunnisteen on oltava pieniä kirjaimia, numeroita ja väliviivoja.", sv: "Identifieraren måste bestå av små bokstäver, siffror och bindestreck." },
  no_answers: {
    fi: "Kysymykseen tarvitaan ainakin yksi vastaus, ja jokaisen polun on päätyttävä vaiheisiin.",
    sv: "En fråga behöver minst ett svar, och varje väg måste sluta i steg.",
  },
  no_steps: { fi: "Vaiheosioon tarvitaan ainakin yksi vaihe.", sv: "En stegdel behöver minst ett steg." },
  cycle: { fi: "Ohjeen kysymykset eivät saa palata aiempaan kysymykseen.", sv: "Anvisningens frågor får inte leda tillbaka till en tidigare fråga." },
  danger_now: {
    fi: 'Jokaisen "välitön vaara" -vastauksen polun on sisällettävä soitto hätänumeroon 112.',
    sv: 'Varje väg från svaret "fara nu" måste innehålla ett samtal till nödnumret 112.',
  },
  legal_basis: {
    fi: "Ilmoitusvaiheen on nimettävä oikeusperustansa, esimerkiksi lastensuojelulaki 417/2007, 25 §.",
    sv: "Ett anmälningssteg måste ange sin rättsliga grund, till exempel barnskyddslagen 417/2007, 25 §.",
  },
  step_roles: { fi: "Tämän vaiheen on nimettävä ainakin yksi yhteystaho.", sv: "Det här steget måste ange minst en kontaktroll." },
  step_id: { fi: "Jokainen vaihe tarvitsee ohjeessa yksilöllisen tunnisteen.", sv: "Varje steg behöver en identifierare som är unik i anvisningen." },
  override_national: { fi: "Vain alueiden asiakirjat voivat korvata valtakunnallisia ohjeita.", sv: "Bara områdesdokument kan ersätta nationella anvisningar." },
  not_a_record: { fi: "Tämä tietue on vioittunut: sen on oltava kenttien kokoelma.", sv: "Den här posten är skadad: den måste vara en samling fält." },
  wrong_place: {
    fi: "Tämän asiakirjan laji ja alue määräytyvät palvelimen luettelosta eikä niitä voi muuttaa.",
    sv: "Dokumentets typ och område bestäms av serverns katalog och kan inte ändras.",
  },
  outside_area: {
    fi: "Tämä alue on asiakirjan oman alueen ulkopuolella. Luettele vain alue itse tai sen sisällä olevat paikat.",
    sv: "Området ligger utanför dokumentets eget område. Ange bara området självt eller platser inom det.",
  },
  name_too_long: { fi: "Nimessä saa olla enintään 200 merkkiä. Kirjoita loput kuvaukseen.", sv: "Ett namn får ha högst 200 tecken. Skriv resten i beskrivningen." },
  text_too_long: {
    fi: "Tässä tekstissä saa olla enintään 2 000 merkkiä, jotta sen voi lukea puhelimella.",
    sv: "Den här texten får ha högst 2 000 tecken så att den går att läsa på en telefon.",
  },
  value_too_long: { fi: "Tämä arvo on liian pitkä: enintään 10 000 merkkiä.", sv: "Värdet är för långt: högst 10 000 tecken." },
  members_only_in_open: {
    fi: "Vain alueen jäsenille tarkoitettu yhteystieto kuuluu alueen jäsenten omaan asiakirjaan. Tämä asiakirja näkyy kaikille ammattilaisille.",
    sv: "En kontakt endast för områdets medlemmar hör till områdets medlemsdokument. Det här dokumentet når alla yrkespersoner.",
  },
  open_in_members_only: {
    fi: "Tämä asiakirja on vain alueen jäsenille, joten sen yhteystiedot on merkittävä alueen jäsenille näkyviksi.",
    sv: "Det här dokumentet är endast för områdets medlemmar, så dess kontakter måste märkas som synliga för områdets medlemmar.",
  },
  card_in_members_only: {
    fi: "Ohjeet kuuluvat alueen omaan asiakirjaan. Jäsenten asiakirjassa on vain yhteystietoja.",
    sv: "Anvisningar hör till områdets eget dokument. Medlemsdokumentet innehåller bara kontakter.",
  },
  second_national: { fi: "Luettelossa voi olla vain yksi valtakunnallinen asiakirja.", sv: "Katalogen får bara ha ett nationellt dokument." },
  catalogue_kind: {
    fi: "Luettelon kohteen on oltava valtakunnallinen tai alueen asiakirja.",
    sv: "En post i katalogen måste vara ett nationellt dokument eller ett områdesdokument.",
  },
  override_unknown: { fi: 'Valtakunnallista ohjetta tunnisteella "{card}" ei ole.', sv: 'Det finns ingen nationell anvisning med identifieraren "{card}".' },
  override_locked_step: {
    fi: 'Valtakunnallisen ohjeen "{card}" pakollinen vaihe "{step}" on säilytettävä paikallisessa versiossa.',
    sv: 'Det obligatoriska steget "{step}" i den nationella anvisningen "{card}" måste finnas kvar i en lokal version.',
  },
  visibility: {
    fi: '"{value}" ei ole näkyvyys. Käytä arvoa all_professionals tai area_members.',
    sv: '"{value}" är ingen synlighet. Använd all_professionals eller area_members.',
  },
  schedule_kind: { fi: '"{value}" ei ole aukiolon laji. Käytä arvoa regular tai out_of_hours.', sv: '"{value}" är ingen typ av öppettid. Använd regular eller out_of_hours.' },
  day: { fi: '"{value}" ei ole viikonpäivä. Käytä arvoja MO, TU, WE, TH, FR, SA tai SU.', sv: '"{value}" är ingen veckodag. Använd MO, TU, WE, TH, FR, SA eller SU.' },
  role: { fi: '"{value}" ei ole tunnettu tehtävä.', sv: '"{value}" är ingen känd roll.' },
  card_status: {
    fi: '"{value}" ei ole ohjeen tila. Käytä arvoa draft, published tai retired.',
    sv: '"{value}" är ingen status för en anvisning. Använd draft, published eller retired.',
  },
  audience: { fi: '"{value}" ei ole tunnettu kohderyhmä.', sv: '"{value}" är ingen känd målgrupp.' },
  topic: { fi: '"{value}" ei ole tunnettu aihe.', sv: '"{value}" är inget känt ämne.' },
  answer_next: { fi: 'Tämä vastaus johtaa kohtaan "{node}", jota ohjeessa ei ole.', sv: 'Svaret leder till "{node}", som inte finns i anvisningen.' },
  urgency: {
    fi: '"{value}" ei ole kiireellisyys. Käytä arvoa emergency, urgent, concern tai information.',
    sv: '"{value}" är ingen brådskandegrad. Använd emergency, urgent, concern eller information.',
  },
  step_kind: { fi: '"{value}" ei ole vaiheen laji.', sv: '"{value}" är ingen typ av steg.' },
  start_node: { fi: 'Aloituskohtaa "{node}" ei ole tässä ohjeessa.', sv: 'Startpunkten "{node}" finns inte i anvisningen.' },
  phone_kind: { fi: '"{value}" ei ole puhelinnumeron laji. Käytä arvoa voice tai sms.', sv: '"{value}" är ingen typ av telefonnummer. Använd voice eller sms.' },
  organisation_kind: { fi: '"{value}" ei ole tunnettu organisaation laji.', sv: '"{value}" är ingen känd typ av organisation.' },
  area_unknown: { fi: "Aluetta ei tunnisteta: {detail}", sv: "Området känns inte igen: {detail}" },
  unreadable: { fi: "Asiakirjaa ei voi lukea: {detail}", sv: "Dokumentet kan inte läsas: {detail}" },
  erased_id: {
    fi: "Tämä yhteystieto on poistettu pysyvästi eikä sitä voi lisätä uudelleen. Uusi yhteystieto tarvitsee uuden tunnisteen.",
    sv: "Den här kontakten har raderats permanent och kan inte läggas till igen. En ny kontakt behöver en ny identifierare.",
  },
  foreign_id: {
    fi: "Tämä tunniste kuuluu toisen asiakirjan yhteystiedolle. Uusi yhteystieto tarvitsee uuden tunnisteen.",
    sv: "Identifieraren tillhör en kontakt i ett annat dokument. En ny kontakt behöver en ny identifierare.",
  },
  read_only: {
    fi: "Voit lukea tätä asiakirjaa mutta et muuttaa sitä. Muutoksiasi ei hyväksytty.",
    sv: "Du kan läsa men inte ändra det här dokumentet. Dina ändringar godkändes inte.",
  },
  too_many_documents: {
    fi: "Olet luonut liian monta asiakirjaa lyhyessä ajassa. Yritä myöhemmin uudelleen.",
    sv: "Du har skapat för många dokument på kort tid. Försök igen senare.",
  },
  relay_failed: { fi: "Palvelin ei pystynyt käsittelemään tietojasi.", sv: "Servern kunde inte behandla dina data." },
  // The relay's reasons for an `error` that names no rule (the protocol's `reason` field).
  invalid: { fi: "Muutos rikkoo luettelon sääntöjä.", sv: "Ändringen bryter mot katalogens regler." },
  over_limits: { fi: "Palvelin hylkäsi liian suuren synkronointiviestin.", sv: "Servern avvisade ett för stort synkroniseringsmeddelande." },
  corrupt: { fi: "Palvelin ei pystynyt lukemaan laitteen lähettämiä tietoja.", sv: "Servern kunde inte läsa de data som enheten skickade." },
  too_slow: { fi: "Yhteys oli liian hidas. Sovellus yhdistää uudelleen.", sv: "Anslutningen var för långsam. Appen ansluter igen." },
  not_loaded: { fi: "Palvelin ei pystynyt avaamaan tätä asiakirjaa. Yritä myöhemmin uudelleen.", sv: "Servern kunde inte öppna dokumentet. Försök igen senare." },
  not_checked: { fi: "Palvelin ei pystynyt tarkistamaan muutoksiasi. Yritä uudelleen.", sv: "Servern kunde inte kontrollera dina ändringar. Försök igen." },
  too_large: { fi: "Viesti oli palvelimelle liian suuri.", sv: "Meddelandet var för stort för servern." },
  too_many_messages: {
    fi: "Laite lähetti liian monta viestiä lyhyessä ajassa. Sovellus yhdistää uudelleen.",
    sv: "Enheten skickade för många meddelanden på kort tid. Appen ansluter igen.",
  },
  join_timeout: { fi: "Yhteyden muodostaminen palvelimeen kesti liian kauan.", sv: "Det tog för lång tid att ansluta till servern." },
  text_frame: { fi: "Palvelin ei ymmärtänyt laitteen viestiä.", sv: "Servern förstod inte enhetens meddelande." },
  invite_unknown: { fi: "Kutsukoodi ei kelpaa. Tarkista, että kirjoitit sen oikein.", sv: "Inbjudningskoden är inte giltig. Kontrollera att den är rätt inskriven." },
  invite_used: { fi: "Tämä kutsukoodi on jo käytetty. Pyydä ylläpitäjältä uusi.", sv: "Inbjudningskoden har redan använts. Be administratören om en ny." },
  invite_expired: { fi: "Tämä kutsukoodi on vanhentunut. Pyydä ylläpitäjältä uusi.", sv: "Inbjudningskoden har gått ut. Be administratören om en ny." },
  invite_withdrawn: {
    fi: "Kutsu ei ole enää voimassa, koska sen käyttäjätili on poistettu käytöstä. Ota yhteyttä ylläpitäjään.",
    sv: "Inbjudan gäller inte längre eftersom dess konto har inaktiverats. Kontakta administratören.",
  },
  too_many_attempts: {
    fi: "Tästä osoitteesta on syötetty liian monta väärää kutsukoodia. Odota hetki ja tarkista koodi.",
    sv: "För många ogiltiga inbjudningskoder från den här adressen. Vänta en stund och kontrollera koden.",
  },
  device_name: { fi: "Laitteen nimessä on oltava 1–100 merkkiä.", sv: "Enhetens namn måste ha 1–100 tecken." },
  internal: { fi: "Palvelimella oli sisäinen ongelma. Yritä myöhemmin uudelleen.", sv: "Servern hade ett internt problem. Försök igen senare." },
  bad_request: { fi: "Palvelin ei ymmärtänyt pyyntöä.", sv: "Servern förstod inte begäran." },
  token_missing: { fi: "Laite ei ole kirjautunut.", sv: "Enheten är inte inloggad." },
  token_invalid: { fi: "Tämän laitteen kirjautuminen ei ole voimassa.", sv: "Enhetens inloggning gäller inte." },
  no_document: { fi: "Palvelimella ei ole tätä asiakirjaa.", sv: "Servern har inte det här dokumentet." },
  not_an_editor: {
    fi: "Vain asiakirjan muokkaajat ja ylläpitäjät näkevät, kuka sitä on muuttanut.",
    sv: "Bara dokumentets redigerare och administratörer kan se vem som har ändrat det.",
  },
  restarting: { fi: "Palvelin käynnistyy uudelleen. Yritä hetken kuluttua.", sv: "Servern startar om. Försök igen om en stund." },
  session_revoked: { fi: "Ylläpitäjä poisti tämän laitteen. Pyydä uusi kutsu.", sv: "En administratör tog bort den här enheten. Be om en ny inbjudan." },
  session_disabled: { fi: "Ylläpitäjä poisti käyttäjätilisi käytöstä.", sv: "En administratör inaktiverade ditt konto." },
  session_unknown: { fi: "Palvelin ei tunne tätä laitetta. Ota sovellus käyttöön kutsukoodilla.", sv: "Servern känner inte igen enheten. Ta appen i bruk med en inbjudningskod." },
};

// A message by its code in the current language, `{name}` filled from `params`; `english` (the
// rules' or the relay's own text) where there is no wording for the code, and in English.
/**
 * @param {string | null | undefined} code
 * @param {Record<string, string> | null | undefined} params
 * @param {string | undefined} english
 */
export function tm(code, params, english) {
  const e = code && M[code];
  const text = e && e[current];
  if (!text) return english || code || "";
  return text.replace(/\{(\w+)\}/g, (m, k) => (params && k in params ? params[k] : m));
}

// An issue from the wasm client (`{code, params, message}`) in the current language.
/** @param {{ code: string, params: Record<string, string>, message: string }} issue */
export function issueText(issue) {
  return tm(issue.code, issue.params, issue.message);
}

// Words of a screen loaded on demand (statement.js), added to the catalogue when it loads.
/** @param {Record<string, Words>} words */
export function addWords(words) {
  for (const [key, texts] of Object.entries(words)) T[key] = texts;
}

// Messages' wordings by code that load with a module (the rules' validation messages, with the
// editing screens).
/** @param {Record<string, Words>} messages */
export function addMessages(messages) {
  for (const [code, texts] of Object.entries(messages)) M[code] = texts;
}

// The app's own words in each language and the messages' wordings by code, for tests that look
// for English left in a Finnish or Swedish page.
export function catalogue() {
  const words = (/** @type {string} */ lang) => Object.fromEntries(Object.entries(T).map(([k, v]) => [k, v[lang]]));
  return { en: words("en"), fi: words("fi"), sv: words("sv"), messages: M };
}
