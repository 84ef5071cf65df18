// @ts-check
// The one wrapper around the wasm client: the only module that calls its exports and parses the
// JSON they return. The shapes of that JSON are declared below, so that the type check holds
// every screen to what the Rust views (client-wasm/src/views.rs and friends) serialise.

import init, { Client } from "./contactpoint.js";

/** @typedef {{ text: string, lang: string, rtl: boolean }} Text A text in the language it was found in. */

/** @typedef {{ number: string, kind: string, description: Text | null }} Phone */

/**
 * @typedef {{ description: string, hours_note: string, schedules: ScheduleForm[] }} ContactForm
 * @typedef {{ kind: string, days: string[], opens: string, closes: string, from?: number }} ScheduleForm
 */

/**
 * A contact point as shown in a list or on its own page (`form` only on its own page).
 * @typedef {{
 *   id: string, name: Text, organisation: Text | null, description: Text | null, phones: Phone[],
 *   email: string | null, url: string | null, chat_url: string | null, hours: string[],
 *   open_now: boolean | null, out_of_hours: boolean, languages: string[], why: string | null,
 *   example: boolean, stale: boolean, verified_at: string | null, retired: string | null,
 *   members_only?: string, form?: ContactForm,
 * }} Contact
 */

/**
 * A guidance card ready to walk: its nodes are questions or steps.
 * @typedef {{ text: Text | null, next: string, danger_now: boolean }} Answer
 * @typedef {{ kind: string, text: Text | null, roles: string[], legal_basis: string | null, contacts: Contact[] }} Step
 * @typedef {{ type: "question", text: Text | null, help: Text | null, answers: Answer[] }} QuestionNode
 * @typedef {{ type: "steps", urgency: string, heading: Text | null, steps: Step[] }} StepsNode
 * @typedef {{
 *   slug: string, title: Text, summary: Text | null, start: string, stale: boolean,
 *   nodes: Record<string, QuestionNode | StepsNode>, do_not: Text[], sources: string[],
 * }} Card
 */

/** @typedef {{ slug: string, title: Text | null, summary: Text | null, topics: string[], stale: boolean }} Topic */
/** @typedef {{ href: string, title: string, subtitle: string }} Hit */
/** @typedef {{ role: string, label: string, contacts: Contact[] }} Group */
/** @typedef {{ code: string, name: string, other_name: string | null, police_unverified: boolean }} Municipality */
/** @typedef {{ kind: string, id: string, title: string, area: string, reason: string, since: string | null }} ReviewItem */
/** @typedef {{ id: string, name: string, retired: string, area: string }} RetiredItem */
/** @typedef {{ area: string, title: string }} AreaDocument An area key (`national`, `municipality:092`, `restricted:…`) and its title. */
/** @typedef {{ role: string, label: string }} Role */
/** @typedef {{ word: string, n?: number, detail: string }} FieldLabel How the app names a field (history.rs `FieldLabel`): its word, the list position from 1, the rest of the path. */
/** @typedef {{ field: string, label: FieldLabel, values: string[] }} Conflict Values `{map}` and `{list}` stand for a nested object or list. */

/**
 * A contact point's history, newest first: one entry per change set.
 * @typedef {{ field: string, label: FieldLabel, before: string | null, after: string | null }} FieldChange
 * @typedef {{ hash: string, message: string | null, time: number | null, changes: FieldChange[] }} HistoryEntry
 */

/**
 * The local guidance editor's view of a national card in an area.
 * @typedef {{ id: string, kind: string, text: string, lang: string, locked: boolean, local: boolean, roles: string[], national_text: string | null }} LocalStep
 * @typedef {{ id: string, urgency: string, heading: string, steps: LocalStep[] }} LocalNode
 * @typedef {{ title: string, active: boolean, withdrawn: boolean, nodes: LocalNode[] }} LocalView
 */

/** @typedef {{ field: string, code: string, params: Record<string, string>, message: string }} Issue A broken rule, with its code (edit.rs `FieldIssue`). */

/** @typedef {Uint8Array<ArrayBuffer>} Bytes */

/**
 * What the app does for the client (session.rs `Effect`): send or store bytes, redraw, report.
 * @typedef {{ kind: "send", bytes: Bytes }
 *   | { kind: "connected", relay_storage_id: string | null }
 *   | { kind: "store", doc: string, bytes: Bytes }
 *   | { kind: "changed", doc: string }
 *   | { kind: "unavailable", doc: string }
 *   | { kind: "refused", message: string, doc: string | null, explained: Explained }
 *   | { kind: "sync_failed", doc: string, reason: string, retrying: boolean }
 *   | { kind: "replace", doc: string, bytes: Bytes }
 *   | { kind: "closed", reason: string }
 *   | { kind: "open", doc: string }
 *   | { kind: "erased", doc: string, replaced_by: string | null }
 *   | { kind: "carried", doc: string, carried: number, reenter: Discarded[] }} Effect
 */

/** @typedef {{ code: string | null, params: Record<string, string>, message: string, more: number }} Explained A refusal in words the app translates (messages.rs). */

/** @typedef {{ contact: string, name: string, field: string, label: FieldLabel, yours: string | null, now: string | null, at?: string }} Discarded A refused value kept to be entered again (history.rs), with when. */

/** @typedef {{ ok: true, id?: string, effects: Effect[] } | { ok: false, issues: Issue[] }} FormResult */

/** @typedef {{ lang: string, text: string }} LangText */

/**
 * The add form's contact.
 * @typedef {{ name: LangText, roles: string[], phones: string[], email?: string, url?: string }} NewContact
 */

/**
 * The edit form's changes.
 * @typedef {{
 *   phones: string[], email: string, url: string, verified: boolean, name?: LangText,
 *   description?: LangText, hours_note?: LangText, schedules?: ScheduleForm[],
 * }} ContactEdit
 */

/**
 * A change to an area's local version of a card.
 * @typedef {{ op: "adapt" } | { op: "withdraw" } | { op: "set_text", node: string, step: string, lang: string, text: string }
 *   | { op: "remove_step", node: string, step: string }
 *   | { op: "add_step", node: string, kind: string, lang: string, text: string, roles: string[] }} LocalOp
 */

/**
 * @template T
 * @param {string} json
 * @returns {T}
 */
function parse(json) {
  return JSON.parse(json);
}

/** Loads the wasm module from its URL (rewritten to the hashed name by the build). */
export async function loadWasm() {
  await init({ module_or_path: new URL("./contactpoint_bg.wasm", import.meta.url) });
}

/** The wasm client with typed results. */
export class Wasm {
  /**
   * A fresh peer id per running instance and the browser's storage id.
   * @param {string} peerId
   * @param {string} storageId
   */
  constructor(peerId, storageId) {
    this.raw = new Client(peerId, storageId);
  }

  // Syncing: effects in, effects out.

  /** @param {string} id @param {Uint8Array} bytes @param {Uint8Array | undefined} state @returns {Effect[]} */
  openDoc(id, bytes, state) {
    return this.raw.openDoc(id, bytes, state);
  }
  /** @returns {Effect[]} */
  connect() {
    return this.raw.connect();
  }
  disconnected() {
    this.raw.disconnected();
  }
  /** @param {Uint8Array} frame @returns {Effect[]} */
  receive(frame) {
    return this.raw.receive(frame);
  }
  /** @param {string} id */
  syncState(id) {
    return this.raw.syncState(id);
  }
  /** @param {string} id */
  isAcknowledged(id) {
    return this.raw.isAcknowledged(id);
  }
  /** @param {string} id */
  save(id) {
    return this.raw.save(id);
  }
  isConnected() {
    return this.raw.isConnected();
  }
  /** @param {string} name */
  setAuthor(name) {
    this.raw.setAuthor(name);
  }

  // Views.

  /** @param {string} index @returns {string[]} */
  documentIds(index) {
    return parse(this.raw.documentIds(index));
  }
  /** @param {string} index @returns {string[]} */
  nationalDocumentIds(index) {
    return parse(this.raw.nationalDocumentIds(index));
  }
  /** @param {string} lang @param {string} today @returns {Topic[]} */
  topics(lang, today) {
    return parse(this.raw.topics(lang, today));
  }
  /** @param {string} slug @param {string} muni @param {string} lang @param {string} today @param {string} now @returns {Card | null} */
  card(slug, muni, lang, today, now) {
    return parse(this.raw.card(slug, muni, lang, today, now));
  }
  /** @param {string} id @param {string} muni @param {string} lang @param {string} today @param {string} now @returns {Contact | null} */
  contact(id, muni, lang, today, now) {
    return parse(this.raw.contact(id, muni, lang, today, now));
  }
  /** @param {string} query @param {string} muni @param {string} lang @returns {Hit[]} */
  search(query, muni, lang) {
    return parse(this.raw.search(query, muni, lang));
  }
  /** @param {string} muni @param {string} lang @param {string} today @param {string} now @returns {Group[]} */
  browse(muni, lang, today, now) {
    return parse(this.raw.browse(muni, lang, today, now));
  }
  /** @param {string} query @param {string} lang @returns {Municipality[]} */
  municipalities(query, lang) {
    return parse(this.raw.municipalities(query, lang));
  }
  /** @param {string} code @param {string} lang @returns {Municipality} */
  municipality(code, lang) {
    return parse(this.raw.municipality(code, lang));
  }
  /** `[documentId, area]` of the document holding a contact, or undefined. @param {string} id */
  contactScope(id) {
    return this.raw.contactScope(id);
  }
  /** @param {string[]} areas @param {string} today @param {string} lang @returns {ReviewItem[]} */
  reviewQueue(areas, today, lang) {
    return parse(this.raw.reviewQueue(JSON.stringify(areas), today, lang));
  }
  /** @param {string} id @returns {HistoryEntry[] | null} */
  contactHistory(id) {
    return parse(this.raw.contactHistory(id));
  }
  /** @param {string} id @returns {Conflict[]} */
  contactConflicts(id) {
    return parse(this.raw.contactConflicts(id));
  }
  /** @param {string} slug @param {string} area @param {string} lang @returns {LocalView | null} */
  localGuidance(slug, area, lang) {
    return parse(this.raw.localGuidance(slug, area, lang));
  }
  /** @param {string} muni @param {string} lang @returns {AreaDocument[]} */
  areasCovering(muni, lang) {
    return parse(this.raw.areasCovering(muni, lang));
  }
  /** @returns {string[]} */
  heldDocs() {
    return parse(this.raw.heldDocs());
  }
  /** @param {string[]} areas @param {string} lang @returns {RetiredItem[]} */
  retired(areas, lang) {
    return parse(this.raw.retired(JSON.stringify(areas), lang));
  }
  /** @param {string} lang @returns {Role[]} */
  roles(lang) {
    return parse(this.raw.roles(lang));
  }
  /** @param {string} lang @returns {AreaDocument[]} */
  areaDocuments(lang) {
    return parse(this.raw.areaDocuments(lang));
  }

  // Changes: each validated by the rules before it is applied.

  /** @param {string} id @param {ContactEdit} edit @param {string} today @param {string} by @returns {FormResult} */
  editContact(id, edit, today, by) {
    return this.raw.editContact(id, JSON.stringify(edit), today, by);
  }
  /** @param {string} area @param {NewContact} contact @param {string} today @param {string} by @returns {FormResult} */
  addContact(area, contact, today, by) {
    return this.raw.addContact(area, JSON.stringify(contact), today, by);
  }
  /** Writes one field; `undefined` removes it. @param {string} id @param {string} field @param {string | undefined} value @returns {FormResult} */
  setContactField(id, field, value) {
    return this.raw.setContactField(id, field, value);
  }
  /** @param {string} slug @param {string} area @param {LocalOp} op @returns {FormResult} */
  changeLocal(slug, area, op) {
    return this.raw.changeLocal(slug, area, JSON.stringify(op));
  }
  /** Throws an error with `issues` when the rules refuse. @param {string} id @param {string} today @returns {Effect[]} */
  retireContact(id, today) {
    return this.raw.retireContact(id, today);
  }
  /** Throws like `retireContact`. @param {string} id @returns {Effect[]} */
  restoreContact(id) {
    return this.raw.restoreContact(id);
  }
  /** @param {string} id @returns {{ discarded: Discarded[], effects: Effect[] }} */
  resetDoc(id) {
    return this.raw.resetDoc(id);
  }
}
