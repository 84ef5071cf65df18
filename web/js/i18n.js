// User-interface strings in Finnish, Swedish and English. Content (contacts, guidance) carries
// its own languages; these are only the app's own words.

export const LANGS = ["fi", "sv", "en"];

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
  last_synced: { fi: "päivitetty", sv: "uppdaterad", en: "last synced" },
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
  sign_in_failed: { fi: "Käyttöönotto ei onnistunut", sv: "Det gick inte att ta appen i bruk", en: "Signing in failed" },
  no_network: { fi: "Ei verkkoyhteyttä. Yritä uudelleen, kun verkko toimii.", sv: "Ingen nätverksanslutning. Försök igen när nätet fungerar.", en: "No network connection. Try again when you are online." },
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
  out_of_hours: { fi: "Virka-ajan ulkopuolella", sv: "Utanför tjänstetid", en: "Out of hours" },
  languages: { fi: "Kielet", sv: "Språk", en: "Languages" },
  no_contact: { fi: "Paikallista yhteystietoa ei löytynyt. Soita hätätilanteessa 112.", sv: "Ingen lokal kontakt hittades. Ring 112 i en nödsituation.", en: "No local contact found. In an emergency call 112." },
  urgency_emergency: { fi: "Hätätilanne – toimi heti", sv: "Nödsituation – agera genast", en: "Emergency — act now" },
  urgency_urgent: { fi: "Kiireellinen", sv: "Brådskande", en: "Urgent" },
  urgency_concern: { fi: "Huoli", sv: "Oro", en: "Concern" },
  urgency_information: { fi: "Tietoa", sv: "Information", en: "Information" },
  language: { fi: "Kieli", sv: "Språk", en: "Language" },
  sign_out: { fi: "Kirjaudu ulos ja poista tiedot tästä laitteesta", sv: "Logga ut och radera data från denna enhet", en: "Sign out and delete data from this device" },
  sign_out_confirm: { fi: "Poistetaanko kaikki tämän laitteen tiedot?", sv: "Radera alla data på denna enhet?", en: "Delete all data on this device?" },
  signed_in_as: { fi: "Käyttäjä", sv: "Användare", en: "Signed in as" },
  save: { fi: "Tallenna", sv: "Spara", en: "Save" },
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
  review_empty: { fi: "Kaikki alueesi tiedot on tarkistettu.", sv: "Allt i dina områden är granskat.", en: "Everything in your areas has been checked." },
  reason_never_verified: { fi: "ei koskaan tarkistettu", sv: "aldrig granskad", en: "never verified" },
  reason_not_verified_recently: { fi: "tarkistettu yli 180 päivää sitten", sv: "granskad för över 180 dagar sedan", en: "not verified for 180 days" },
  reason_review_date_passed: { fi: "tarkistuspäivä ohitettu", sv: "granskningsdatum passerat", en: "review date passed" },
  reason_card_review_due: { fi: "ohjeen tarkistus erääntynyt", sv: "anvisningens granskning förfallen", en: "guidance review due" },
  edit_contact: { fi: "Muokkaa yhteystietoa", sv: "Redigera kontakt", en: "Edit contact" },
  name: { fi: "Nimi", sv: "Namn", en: "Name" },
  phone_n: { fi: "Puhelinnumero", sv: "Telefonnummer", en: "Phone number" },
  mark_verified: { fi: "Merkitse tarkistetuksi tänään", sv: "Markera som kontrollerad i dag", en: "Mark as verified today" },
  cancel: { fi: "Peruuta", sv: "Avbryt", en: "Cancel" },
  fix_errors: { fi: "Korjaa merkityt kohdat. Mitään ei tallennettu.", sv: "Rätta de markerade fälten. Inget sparades.", en: "Fix the marked fields. Nothing was saved." },
  saved_offline: { fi: "Tallennettu tähän laitteeseen; lähetetään, kun yhteys toimii.", sv: "Sparat på denna enhet; skickas när anslutningen fungerar.", en: "Saved on this device; it will be sent when the connection works." },
  history: { fi: "Muutoshistoria", sv: "Ändringshistorik", en: "History" },
  history_of: { fi: "Muutoshistoria", sv: "Ändringshistorik", en: "History of" },
  history_empty: { fi: "Ei muutoksia.", sv: "Inga ändringar.", en: "No changes." },
  changed_by: { fi: "muutti", sv: "ändrades av", en: "changed by" },
  created_by: { fi: "Luonut", sv: "Skapad av", en: "Created by" },
  on_date: { fi: "", sv: "den", en: "on" },
  previous_value: { fi: "Aiempi arvo", sv: "Tidigare värde", en: "Previous value" },
  new_value: { fi: "Uusi arvo", sv: "Nytt värde", en: "New value" },
  no_value: { fi: "(ei arvoa)", sv: "(inget värde)", en: "(none)" },
  restore: { fi: "Palauta aiempi arvo", sv: "Återställ tidigare värde", en: "Restore previous value" },
  restored: { fi: "Aiempi arvo palautettu uutena muutoksena.", sv: "Det tidigare värdet återställdes som en ny ändring.", en: "The previous value was restored as a new change." },
  unknown_author: { fi: "tuntematon", sv: "okänd", en: "unknown" },
  unconfirmed: { fi: "palvelin ei ole vielä vahvistanut", sv: "ännu inte bekräftat av servern", en: "not yet confirmed by the relay" },
  authors_offline: {
    fi: "Muokkaajien nimet ovat tallennetusta kopiosta; uusimmat näkyvät, kun yhteys toimii.",
    sv: "Redigerarnas namn kommer från en sparad kopia; de senaste visas när anslutningen fungerar.",
    en: "Editors' names come from a saved copy; the newest show when the connection works.",
  },
  verified_by: { fi: "Tarkistaja", sv: "Kontrollerad av", en: "Verified by" },
  description: { fi: "Kuvaus", sv: "Beskrivning", en: "Description" },
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
  discarded_text: {
    fi: "Nämä arvot poistettiin tästä laitteesta, koska palvelin ei hyväksynyt niitä. Korjaa ja syötä ne uudelleen.",
    sv: "Dessa värden togs bort från denna enhet eftersom servern inte godkände dem. Rätta och mata in dem igen.",
    en: "These values were removed from this device because the relay did not accept them. Correct them and enter them again.",
  },
  discarded_empty: { fi: "Ei uudelleen syötettäviä arvoja.", sv: "Inga värden att mata in igen.", en: "No values to enter again." },
  your_value: { fi: "Sinun arvosi", sv: "Ditt värde", en: "Your value" },
  now_value: { fi: "Nyt", sv: "Nu", en: "Now" },
  retired_on: { fi: "Poistettu käytöstä", sv: "Tagen ur bruk", en: "Retired on" },
  retire_contact: { fi: "Poista käytöstä", sv: "Ta ur bruk", en: "Retire this contact" },
  retire_confirm: {
    fi: "Poistetaanko yhteystieto käytöstä? Se säilyy ja voidaan palauttaa.",
    sv: "Ta kontakten ur bruk? Den sparas och kan återställas.",
    en: "Retire this contact? It is kept and can be restored.",
  },
  restore_contact: { fi: "Palauta käyttöön", sv: "Återställ", en: "Restore this contact" },
  add_contact: { fi: "Lisää yhteystieto", sv: "Lägg till kontakt", en: "Add a contact" },
  area_document: { fi: "Alue", sv: "Område", en: "Area" },
  roles: { fi: "Tehtävät", sv: "Roller", en: "Roles" },
  retired_list: { fi: "Käytöstä poistetut", sv: "Tagna ur bruk", en: "Retired contacts" },
  retired_empty: { fi: "Ei käytöstä poistettuja yhteystietoja.", sv: "Inga kontakter tagna ur bruk.", en: "No retired contacts." },
  local_guidance: { fi: "Paikallinen ohje", sv: "Lokal anvisning", en: "Local guidance" },
  local_version_for: { fi: "Paikallinen versio", sv: "Lokal version", en: "Local version for" },
  local_intro: {
    fi: "Alueesi voi muokata valtakunnallisen ohjeen sanamuotoja ja lisätä paikallisia vaiheita. Valtakunnallisesti pakollisia vaiheita ei voi poistaa.",
    sv: "Ditt område kan ändra formuleringarna i den nationella anvisningen och lägga till lokala steg. Steg som är obligatoriska nationellt kan inte tas bort.",
    en: "Your area can reword the national guidance and add local steps. Steps the national guidance requires cannot be removed.",
  },
  local_none: { fi: "Alueella ei ole paikallista versiota; käyttäjät näkevät valtakunnallisen ohjeen.", sv: "Området har ingen lokal version; användarna ser den nationella anvisningen.", en: "This area has no local version; people see the national guidance." },
  create_local: { fi: "Luo paikallinen versio", sv: "Skapa en lokal version", en: "Create a local version" },
  restore_local: { fi: "Ota paikallinen versio takaisin käyttöön", sv: "Ta den lokala versionen i bruk igen", en: "Bring the local version back" },
  withdraw_local: { fi: "Poista paikallinen versio käytöstä", sv: "Ta den lokala versionen ur bruk", en: "Withdraw the local version" },
  withdraw_local_confirm: { fi: "Käyttäjät näkevät taas valtakunnallisen ohjeen. Jatketaanko?", sv: "Användarna ser den nationella anvisningen igen. Fortsätta?", en: "People will see the national guidance again. Continue?" },
  save_wording: { fi: "Tallenna sanamuoto", sv: "Spara formuleringen", en: "Save wording" },
  remove_step: { fi: "Poista vaihe", sv: "Ta bort steget", en: "Remove step" },
  add_step: { fi: "Lisää paikallinen vaihe", sv: "Lägg till ett lokalt steg", en: "Add a local step" },
  step_kind: { fi: "Vaiheen tyyppi", sv: "Typ av steg", en: "Kind of step" },
  step_text: { fi: "Mitä tehdään", sv: "Vad ska göras", en: "What to do" },
  step_role: { fi: "Yhteystaho (valinnainen)", sv: "Kontakt (valfritt)", en: "Contact (optional)" },
  required_nationally: { fi: "Pakollinen valtakunnallisesti", sv: "Obligatoriskt nationellt", en: "Required nationally" },
  national_wording: { fi: "Valtakunnallinen sanamuoto", sv: "Nationell formulering", en: "National wording" },
  local_step: { fi: "Paikallinen vaihe", sv: "Lokalt steg", en: "Local step" },
  saved: { fi: "Tallennettu.", sv: "Sparat.", en: "Saved." },
  kind_call: { fi: "Soita", sv: "Ring", en: "Call" },
  kind_notify: { fi: "Tee ilmoitus", sv: "Gör en anmälan", en: "Notify" },
  kind_consult: { fi: "Konsultoi", sv: "Konsultera", en: "Consult" },
  kind_refer: { fi: "Ohjaa palveluun", sv: "Hänvisa", en: "Refer" },
  kind_support: { fi: "Tue", sv: "Stöd", en: "Support" },
  kind_document_elsewhere: { fi: "Kirjaa omaan järjestelmään", sv: "Dokumentera i eget system", en: "Record in your own system" },
  kind_follow_up: { fi: "Seuraa", sv: "Följ upp", en: "Follow up" },
  kind_info: { fi: "Tietoa", sv: "Information", en: "Information" },
  details: { fi: "Lisätiedot", sv: "Detaljer", en: "Details" },
  clear_list: { fi: "Tyhjennä lista", sv: "Töm listan", en: "Clear this list" },
};

let current = "fi";

export function pickLanguage(saved) {
  if (saved && LANGS.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || "fi"]) {
    const base = l.slice(0, 2).toLowerCase();
    if (LANGS.includes(base)) return base;
  }
  return "fi";
}

export function setLanguage(lang) {
  current = LANGS.includes(lang) ? lang : "fi";
  document.documentElement.lang = current;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
}

export function language() {
  return current;
}

export function t(key) {
  const e = T[key];
  return e ? e[current] || e.en : key;
}
