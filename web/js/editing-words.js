// @ts-check
// The editing screens' words (editing.js), in Finnish, Swedish and English, and the Finnish and
// Swedish wording of the rules' validation messages by code (English comes with each message).
// They join the app's catalogue (i18n.js) when the editing screens load: an editor's app loads
// them at start, so the rules' messages are in the editor's language wherever they are shown.

/** @typedef {import("./i18n.js").Words} Words */

/** @type {Record<string, Words>} */
export const WORDS = {
  save: { fi: "Tallenna", sv: "Spara", en: "Save" },
  review_empty: { fi: "Kaikki alueesi tiedot on tarkistettu.", sv: "Allt i dina områden är granskat.", en: "Everything in your areas has been checked." },
  edit_contact: { fi: "Muokkaa yhteystietoa", sv: "Redigera kontakt", en: "Edit contact" },
  mark_verified: { fi: "Merkitse tarkistetuksi tänään", sv: "Markera som kontrollerad i dag", en: "Mark as verified today" },
  cancel: { fi: "Peruuta", sv: "Avbryt", en: "Cancel" },
  fix_errors: { fi: "Korjaa merkityt kohdat. Mitään ei tallennettu.", sv: "Rätta de markerade fälten. Inget sparades.", en: "Fix the marked fields. Nothing was saved." },
  history_of: { fi: "Muutoshistoria", sv: "Ändringshistorik", en: "History of" },
  history_empty: { fi: "Ei muutoksia.", sv: "Inga ändringar.", en: "No changes." },
  changed_by: { fi: "muutti", sv: "ändrades av", en: "changed by" },
  created_by: { fi: "Luonut", sv: "Skapad av", en: "Created by" },
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
  discarded_text: {
    fi: "Nämä arvot poistettiin tästä laitteesta, koska palvelin ei hyväksynyt niitä. Korjaa ja syötä ne uudelleen.",
    sv: "Dessa värden togs bort från denna enhet eftersom servern inte godkände dem. Rätta och mata in dem igen.",
    en: "These values were removed from this device because the relay did not accept them. Correct them and enter them again.",
  },
  discarded_empty: { fi: "Ei uudelleen syötettäviä arvoja.", sv: "Inga värden att mata in igen.", en: "No values to enter again." },
  your_value: { fi: "Sinun arvosi", sv: "Ditt värde", en: "Your value" },
  now_value: { fi: "Nyt", sv: "Nu", en: "Now" },
  area_document: { fi: "Alue", sv: "Område", en: "Area" },
  roles: { fi: "Tehtävät", sv: "Roller", en: "Roles" },
  retired_empty: { fi: "Ei käytöstä poistettuja yhteystietoja.", sv: "Inga kontakter tagna ur bruk.", en: "No retired contacts." },
  clear_list: { fi: "Tyhjennä lista", sv: "Töm listan", en: "Clear this list" },
  opening_hours: { fi: "Aukioloajat", sv: "Öppettider", en: "Opening hours" },
  hours_none: { fi: "Ei aukioloaikoja.", sv: "Inga öppettider.", en: "No opening hours." },
  hours_kind: { fi: "Ajan tyyppi", sv: "Typ av tid", en: "Kind of hours" },
  days_hint: {
    fi: "Jos päiviä ei ole valittu, aika koskee joka päivää.",
    sv: "Om inga dagar är valda gäller tiden varje dag.",
    en: "With no days chosen, the hours apply every day.",
  },
  opens: { fi: "Avautuu", sv: "Öppnar", en: "Opens" },
  closes: { fi: "Sulkeutuu", sv: "Stänger", en: "Closes" },
  times_hint: {
    fi: "Jätä molemmat tyhjiksi, jos palvelu on auki ympäri vuorokauden. Jos sulkeutumisaika on ennen avautumisaikaa, palvelu sulkeutuu seuraavana aamuna.",
    sv: "Lämna båda tomma om tjänsten är öppen dygnet runt. En stängningstid före öppningstiden betyder följande morgon.",
    en: "Leave both empty for round the clock. A closing time before the opening time means the next morning.",
  },
  add_hours: { fi: "Lisää aukioloaika", sv: "Lägg till öppettid", en: "Add opening hours" },
  remove: { fi: "Poista", sv: "Ta bort", en: "Remove" },
  // An area's local version of a card (screen-local.js).
  local_guidance: { fi: "Paikallinen ohje", sv: "Lokal anvisning", en: "Local guidance" },
  local_intro: {
    fi: "Alueesi voi muokata valtakunnallisen ohjeen sanamuotoja ja lisätä paikallisia vaiheita. Valtakunnallisesti pakollisia vaiheita ei voi poistaa.",
    sv: "Ditt område kan ändra formuleringarna i den nationella anvisningen och lägga till lokala steg. Steg som är obligatoriska nationellt kan inte tas bort.",
    en: "Your area can reword the national guidance and add local steps. Steps the national guidance requires cannot be removed.",
  },
  local_none: {
    fi: "Alueella ei ole paikallista versiota; käyttäjät näkevät valtakunnallisen ohjeen.",
    sv: "Området har ingen lokal version; användarna ser den nationella anvisningen.",
    en: "This area has no local version; people see the national guidance.",
  },
  create_local: { fi: "Luo paikallinen versio", sv: "Skapa en lokal version", en: "Create a local version" },
  restore_local: { fi: "Ota paikallinen versio takaisin käyttöön", sv: "Ta den lokala versionen i bruk igen", en: "Bring the local version back" },
  withdraw_local: { fi: "Poista paikallinen versio käytöstä", sv: "Ta den lokala versionen ur bruk", en: "Withdraw the local version" },
  withdraw_local_confirm: {
    fi: "Käyttäjät näkevät taas valtakunnallisen ohjeen. Jatketaanko?",
    sv: "Användarna ser den nationella anvisningen igen. Fortsätta?",
    en: "People will see the national guidance again. Continue?",
  },
  save_wording: { fi: "Tallenna sanamuoto", sv: "Spara formuleringen", en: "Save wording" },
  remove_step: { fi: "Poista vaihe", sv: "Ta bort steget", en: "Remove step" },
  add_step: { fi: "Lisää paikallinen vaihe", sv: "Lägg till ett lokalt steg", en: "Add a local step" },
  step_kind: { fi: "Vaiheen tyyppi", sv: "Typ av steg", en: "Kind of step" },
  step_text: { fi: "Mitä tehdään", sv: "Vad ska göras", en: "What to do" },
  step_role: { fi: "Yhteystaho (valinnainen)", sv: "Kontakt (valfritt)", en: "Contact (optional)" },
  required_nationally: { fi: "Pakollinen valtakunnallisesti", sv: "Obligatoriskt nationellt", en: "Required nationally" },
  national_wording: { fi: "Valtakunnallinen sanamuoto", sv: "Nationell formulering", en: "National wording" },
  local_step: { fi: "Paikallinen vaihe", sv: "Lokalt steg", en: "Local step" },
};

/** @type {Record<string, Words>} */
export const MESSAGES = {
  text_required: { fi: "Tämä teksti tarvitaan ainakin yhdellä kielellä.", sv: "Den här texten behövs på minst ett språk." },
  kind: { fi: 'Asiakirjan lajin on oltava "index", "national" tai "area".', sv: 'Dokumentets typ måste vara "index", "national" eller "area".' },
  area_required: {
    fi: "Alueen asiakirjan on nimettävä alueensa (municipality:091, county:90 tai police:helsinki).",
    sv: "Ett områdesdokument måste ange sitt område (municipality:091, county:90 eller police:helsinki).",
  },
  role_required: { fi: "Valitse ainakin yksi tehtävä.", sv: "Välj minst en roll." },
  reach_required: {
    fi: "Lisää ainakin yksi yhteystapa: puhelinnumero, sähköposti, verkkosivu tai chat.",
    sv: "Lägg till minst ett sätt att nå kontakten: telefonnummer, e-post, webbadress eller chatt.",
  },
  phone_format: {
    fi: "Tämä ei ole puhelinnumero. Kirjoita muodossa +358 40 123 4567, 040 123 4567 tai palvelunumerona, kuten 112 tai 116 006.",
    sv: "Det här är inget telefonnummer. Skriv det som +358 40 123 4567, 040 123 4567 eller ett tjänstenummer som 112 eller 116 006.",
  },
  phone_placeholder: {
    fi: "Paikkamerkkinumerot (+358 0 …) sallitaan vain esimerkkitiedoiksi merkityissä yhteystiedoissa.",
    sv: "Platshållarnummer (+358 0 …) tillåts bara i poster som är märkta som exempeldata.",
  },
  email: { fi: "Tämä ei ole sähköpostiosoite.", sv: "Det här är ingen e-postadress." },
  url: { fi: "Verkko-osoitteen on alettava https:// tai http://.", sv: "En webbadress måste börja med https:// eller http://." },
  time: { fi: "Kirjoita kellonaika muodossa TT:MM, esimerkiksi 08:00.", sv: "Skriv tiden som TT:MM, till exempel 08:00." },
  no_random_id: { fi: "Tämä laite ei pystynyt luomaan tunnistetta. Yritä uudelleen.", sv: "Enheten kunde inte skapa en identifierare. Försök igen." },
  id_exists: { fi: "Yhteystieto tällä tunnisteella on jo olemassa.", sv: "En kontakt med den här identifieraren finns redan." },
  no_organisation: { fi: 'Tässä asiakirjassa ei ole organisaatiota tunnisteella "{value}".', sv: 'Dokumentet har ingen organisation med identifieraren "{value}".' },
  not_a_directory: { fi: "Asiakirja ei ole yhteystietoluettelo.", sv: "Dokumentet är ingen kontaktkatalog." },
  local_in_national: { fi: "Ohjeiden paikalliset versiot kuuluvat alueen asiakirjaan.", sv: "Lokala versioner av anvisningar hör till ett områdesdokument." },
  step_kind_required: { fi: "Valitse, mitä vaihe pyytää ammattilaista tekemään.", sv: "Välj vad steget ber yrkespersonen att göra." },
  step_text_required: { fi: "Kirjoita, mitä tässä vaiheessa tehdään.", sv: "Skriv vad som ska göras i det här steget." },
  step_required_nationally: {
    fi: "Valtakunnallinen ohje edellyttää tätä vaihetta, joten sitä ei voi poistaa.",
    sv: "Den nationella anvisningen kräver det här steget, så det kan inte tas bort.",
  },
};
