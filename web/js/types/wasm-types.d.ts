// Generated from the Rust types of client-wasm (src/types.rs) by `cargo xtask gen-types`;
// do not edit. The wasm client's JSON has exactly these shapes.

/**
 * A path from a document's root (or from a record, for an entry's fields) to a value.
 */
export type FieldPath = string;

/**
 * A text in the language it was found in.
 */
export type Text = {
/**
 * The text.
 */
text: string,
/**
 * Its language.
 */
lang: string,
/**
 * Whether it is written right to left.
 */
rtl: boolean, };

/**
 * A problem to show next to a field of the form.
 */
export type FieldIssue = {
/**
 * The form field (`name`, `description`, `hours_note`, `roles`, `phones[0]`, `email`,
 * `url`, `organisation`, `retired`, `schedules[0]` for a row of opening hours as a whole,
 * `schedules[0].kind`, `schedules[0].days`, `schedules[0].opens`, `schedules[0].closes`,
 * or `contact` for the whole entry).
 */
field: string,
/**
 * What is wrong, in English (the app shows `code` in the editor's language).
 */
message: string,
/**
 * The rule's stable code: one of the directory's validation codes, or one of this client's
 * own (`no_random_id`, `id_exists`, `no_organisation`, `not_a_directory`,
 * `local_in_national`, `step_kind_required`, `step_text_required`,
 * `step_required_nationally`).
 */
code: string,
/**
 * The values the message names, by name.
 */
params: { [key in string]: string }, };

/**
 * How the app names a field of a contact point: its own word for the field (`word`, a key of
 * the app's catalogue), the position counted from 1 for one of a list (a phone, a row of opening
 * hours), and the rest of the path (`detail`) in brackets after them. With no word, `detail` is
 * the whole path, shown as it is.
 */
export type FieldLabel = {
/**
 * The app's word (`phone_n`, `hours_row`, `name`, `email`, …), or empty.
 */
word: string,
/**
 * The position in its list, from 1.
 */
n?: number,
/**
 * The rest of the path, or the whole path when there is no word.
 */
detail: string, };

/**
 * One value of a field as a person is shown it: text (a number or flag written so that it
 * can be told from text), or a nested map or list, which is shown as such and never written
 * back. Serialised with its `kind`: `{"kind": "text", "text": "…"}`, `{"kind": "map"}`.
 */
export type FieldValue = { "kind": "text", "text": string } | { "kind": "map" } | { "kind": "list" };

/**
 * Something JavaScript must do, in order.
 */
export type Effect = { "kind": "send", } | { "kind": "connected",
/**
 * The relay's storage id (the key for stored sync states).
 */
relay_storage_id: string | null, } | { "kind": "store",
/**
 * Which document.
 */
doc: string, } | { "kind": "changed",
/**
 * Which document.
 */
doc: string, } | { "kind": "unavailable",
/**
 * Which document.
 */
doc: string, } | { "kind": "refused",
/**
 * The relay's words.
 */
message: string,
/**
 * The document it is about, when the relay named one; that document is held (not
 * synced) until the user resets it.
 */
doc: string | null,
/**
 * The refusal as the app words it: a code with its parameters, the English message
 * and how many more problems there were.
 */
explained: Explained, } | { "kind": "sync_failed",
/**
 * Which document.
 */
doc: string,
/**
 * What went wrong.
 */
reason: string,
/**
 * Whether a fresh copy was asked for.
 */
retrying: boolean, } | { "kind": "replace",
/**
 * Which document.
 */
doc: string, } | { "kind": "closed",
/**
 * Why.
 */
reason: string, } | { "kind": "open",
/**
 * Which document.
 */
doc: string, } | { "kind": "erased",
/**
 * The document to delete.
 */
doc: string,
/**
 * The document that holds what was kept of it.
 */
replaced_by: string | null, } | { "kind": "carried",
/**
 * The new document.
 */
doc: string,
/**
 * How many values were written.
 */
carried: number,
/**
 * The values that could not be carried.
 */
reenter: Array<Discarded>, };

/**
 * A refusal from the relay as the app shows it.
 */
export type Explained = {
/**
 * The rule's or the relay's code, by which the app words the message (`null` when there is
 * none).
 */
code: string | null,
/**
 * The values the message names, by name.
 */
params: { [key in string]: string },
/**
 * The message without the document id and the internal path, in English.
 */
message: string,
/**
 * How many more problems the refusal counted beyond the first.
 */
more: number, };

/**
 * A value the relay refused (or that was not yet stored there) and a reset discarded.
 */
export type Discarded = {
/**
 * The contact point.
 */
contact: string,
/**
 * Its name as it was here (any language), to find it again.
 */
name: string,
/**
 * The field's path.
 */
field: FieldPath,
/**
 * How the app names it.
 */
label: FieldLabel,
/**
 * The value this device had.
 */
yours: string | null,
/**
 * The value after the reset.
 */
now: string | null, };

/**
 * A guidance topic on the home screen.
 */
export type Topic = { slug: string, title: Text | null, summary: Text | null, topics: Array<string>, stale: boolean, };

/**
 * A guidance card ready to walk.
 */
export type CardView = { slug: string, title: Text, summary: Text | null, start: string, stale: boolean, nodes: { [key in string]: NodeView }, do_not: Array<Text>, sources: Array<string>, };

export type NodeView = { "type": "question", text: Text | null, help: Text | null, answers: Array<AnswerView>, } | { "type": "steps", urgency: string, heading: Text | null, steps: Array<StepView>, };

export type AnswerView = { text: Text | null, next: string, danger_now: boolean, };

export type StepView = { kind: string, text: Text | null, roles: Array<string>, legal_basis: string | null, contacts: Array<ContactView>, };

/**
 * A contact point as shown in a list or on its own page.
 */
export type ContactView = { id: string, name: Text, organisation: Text | null, description: Text | null, phones: Array<PhoneView>, email: string | null, url: string | null, chat_url: string | null, hours: Array<string>, open_now: boolean | null, out_of_hours: boolean, languages: Array<string>, why: string | null, example: boolean, stale: boolean, verified_at: string | null,
/**
 * The day the entry was retired, if it was (editors see it with a way to restore it).
 */
retired: string | null,
/**
 * For a members-only entry, the areas whose members alone receive it, named in the UI
 * language (the app labels the entry "only for members of …").
 */
members_only?: string,
/**
 * What the edit form starts from; only on a contact's own page.
 */
form?: ContactForm, };

/**
 * One phone number.
 */
export type PhoneView = { number: string, kind: string, description: Text | null, };

/**
 * The stored values the edit form shows, in the form's language exactly (no fallback: the form
 * writes that language only).
 */
export type ContactForm = { description: string, hours_note: string, schedules: Array<ScheduleForm>, };

/**
 * One stored schedule as the form's row: times empty when not set, days as weekday codes.
 */
export type ScheduleForm = { kind: string, days: Array<string>, opens: string, closes: string, };

/**
 * A search result: the link it opens and its two lines.
 */
export type HitView = { href: string, title: string, subtitle: string, };

/**
 * A role's contacts for a municipality.
 */
export type Group = { role: string, label: string, contacts: Array<ContactView>, };

export type MunicipalityView = { code: string, name: string, other_name: string | null, police_unverified: boolean, };

/**
 * A contact role and its name.
 */
export type RoleView = { role: string, label: string, };

/**
 * A directory document: one a new contact point can be added to, or one covering a
 * municipality.
 */
export type DocumentItem = {
/**
 * `national` or the area (`municipality:091`), the key `addContact` takes.
 */
area: string,
/**
 * The document's title.
 */
title: string, };

/**
 * A document the views could not read: the app says so and shows its last readable copy.
 */
export type Unreadable = {
/**
 * The document's id.
 */
doc: string,
/**
 * Why it could not be read (the reader's words).
 */
reason: string,
/**
 * Whether an earlier copy is still shown.
 */
kept: boolean, };

/**
 * An organisation a new contact point can belong to.
 */
export type OrganisationItem = {
/**
 * Its id.
 */
id: string,
/**
 * Its name.
 */
name: string, };

/**
 * Whose entries an editor's lists show: every document's (an administrator's lists) or those
 * of some area keys (`national`, `municipality:092`; an area's members-only document goes with
 * the area's key).
 */
export type Areas = { "kind": "all" } | { "kind": "only",
/**
 * The area keys.
 */
areas: Array<string>, };

/**
 * One entry of the review queue.
 */
export type ReviewItem = {
/**
 * `contact` or `card`.
 */
kind: string,
/**
 * The entry's id.
 */
id: string,
/**
 * Its name or title.
 */
title: string,
/**
 * The area whose document holds it (`national` for the national document).
 */
area: string,
/**
 * Why it is listed: `replace_example`, `never_verified`, `not_verified_recently`,
 * `review_date_passed` or `card_review_due`.
 */
reason: string,
/**
 * The date the reason refers to, if any.
 */
since: string | null, };

/**
 * A retired contact point, for the editors who may restore it.
 */
export type RetiredItem = {
/**
 * The entry's id.
 */
id: string,
/**
 * Its name.
 */
name: string,
/**
 * The day it was retired (`YYYY-MM-DD`).
 */
retired: string,
/**
 * The area whose document holds it (`national` for the national document).
 */
area: string, };

/**
 * One change that altered a contact point, as the history screen shows it.
 */
export type EntryView = {
/**
 * The change's hash (hex), the key of its authenticated author at the relay.
 */
hash: string,
/**
 * When the writer's device says it made the change (seconds since 1970; 0 when unknown).
 */
time: number,
/**
 * Who the writer's device says made it. Not authenticated.
 */
message: string | null,
/**
 * What it changed in this contact point.
 */
changes: Array<ChangeView>, };

/**
 * One field's change in a history entry, named for the screen.
 */
export type ChangeView = {
/**
 * The field, as [`set_field`] takes it back.
 */
field: FieldPath,
/**
 * How the app names it.
 */
label: FieldLabel,
/**
 * The value before (`None`: the field did not exist).
 */
before: string | null,
/**
 * The value after (`None`: the field was removed).
 */
after: string | null, };

/**
 * A field that editors changed concurrently, as the contact screen shows it.
 */
export type ConflictView = {
/**
 * The field, as [`set_field`] takes it back.
 */
field: FieldPath,
/**
 * How the app names it.
 */
label: FieldLabel,
/**
 * The values, the one shown by default first.
 */
values: Array<FieldValue>, };

/**
 * The local guidance editor's view of one national card in one area.
 */
export type LocalView = { national_id: string, title: string, area: string,
/**
 * Whether the area has a local version readers see.
 */
active: boolean,
/**
 * Whether a withdrawn local version exists (adapting brings it back).
 */
withdrawn: boolean, nodes: Array<LocalNode>, };

/**
 * One steps node.
 */
export type LocalNode = { id: string, heading: string, urgency: string, steps: Array<LocalStep>, };

/**
 * One step as the local guidance editor shows it.
 */
export type LocalStep = { id: string, kind: string, text: string,
/**
 * The language `text` is in (the requested one when present).
 */
lang: string, locked: boolean,
/**
 * Added locally: not in the national card.
 */
local: boolean,
/**
 * The national wording, where this step comes from the national card and reads differently.
 */
national_text: string | null, roles: Array<string>, };

/**
 * What the edit form sends. Absent fields are left as they are.
 */
export type ContactEdit = {
/**
 * The name in one language.
 */
name?: NameEdit,
/**
 * Phone numbers in order; existing kinds and descriptions are kept by position.
 */
phones?: Array<string>,
/**
 * E-mail address; empty removes it.
 */
email?: string,
/**
 * Web address; empty removes it.
 */
url?: string,
/**
 * The description in one language; empty text removes that language's description.
 */
description?: NameEdit,
/**
 * The note about opening hours in one language; empty text removes that language's note.
 */
hours_note?: NameEdit,
/**
 * The opening hours, every row in order; an empty list removes them all.
 */
schedules?: Array<ScheduleEdit>,
/**
 * Marks the contact as checked today by `verified_by`.
 */
verified: boolean, };

/**
 * One row of opening hours as the form sends it.
 */
export type ScheduleEdit = {
/**
 * `regular` or `out_of_hours`; anything else is reported by validation.
 */
kind: string,
/**
 * Weekday codes (`MO` … `SU`); none means every day.
 */
days: Array<string>,
/**
 * Opening time `HH:MM`; empty means none. Anything else is kept so validation reports it.
 */
opens: string,
/**
 * Closing time `HH:MM`; empty means none.
 */
closes: string,
/**
 * The position among the stored schedules of the row this one was loaded from, so that
 * what the form does not show (the row's description) stays with it; absent for a new row.
 */
from?: number, };

/**
 * A name in one language.
 */
export type NameEdit = {
/**
 * Language code.
 */
lang: string,
/**
 * The name.
 */
text: string, };

/**
 * What the form for a new contact point sends.
 */
export type NewContact = {
/**
 * The name in one language.
 */
name: NameEdit,
/**
 * A description in one language.
 */
description?: NameEdit,
/**
 * Role codes from [`contactpoint_directory::model::ROLES`].
 */
roles: Array<string>,
/**
 * Voice numbers in order; empty entries are ignored.
 */
phones: Array<string>,
/**
 * E-mail address; empty means none.
 */
email?: string,
/**
 * Web address; empty means none.
 */
url?: string,
/**
 * The id of an organisation of the same document that offers it; empty means none.
 */
organisation?: string, };

/**
 * One change to an area's local version of a national card.
 */
export type LocalOp = { "op": "adapt" } | { "op": "set_text",
/**
 * The steps node.
 */
node: string,
/**
 * The step.
 */
step: string,
/**
 * Language code.
 */
lang: string,
/**
 * The new text.
 */
text: string, } | { "op": "add_step",
/**
 * The steps node.
 */
node: string,
/**
 * The step to insert after; `None` appends.
 */
after?: string,
/**
 * The step's kind (`info`, `consult`, `refer`, `support`, `follow_up`, …).
 */
kind: string,
/**
 * Language code of `text`.
 */
lang: string,
/**
 * What to do.
 */
text: string,
/**
 * Contact roles resolved at the user's municipality.
 */
roles: Array<string>, } | { "op": "remove_step",
/**
 * The steps node.
 */
node: string,
/**
 * The step.
 */
step: string, } | { "op": "withdraw" };
