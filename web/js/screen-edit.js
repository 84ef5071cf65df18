// @ts-check
// Editing a contact point: names, numbers, addresses, descriptions and the rows of opening
// hours, every field with the rules' own messages under it; and adding a new contact point to
// one of the editor's area documents.

import { clearIssues, formField, showIssues, textField, timeValue } from "./edit-form.js";
import { canEdit, client, contactScreen, h, homeScreen, issuesText, language, mayWrite, nowLocal, savedLocally, show, state, sync, t, today } from "./lent.js";

/** @typedef {import("./wasm.js").ScheduleEdit} ScheduleForm A row of opening hours as the form holds and sends it. */
/** @typedef {import("./wasm.js").ContactEdit} ContactEdit */
/** @typedef {import("./edit-form.js").Field} Field */

const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/**
 * One row of opening hours as the `i`th fieldset of the edit form, with its fields for
 * `showIssues`: the kind, the days, both times, and the row as a whole (a missing time of the
 * pair, shown under the times).
 * @param {number} i
 * @param {ScheduleForm} s
 * @param {() => void} onRemove
 */
function scheduleRow(i, s, onRemove) {
  const key = `schedules[${i}]`;
  const legend = `${t("hours_row")} ${i + 1}`;
  const kinds = ["regular", "out_of_hours"].concat(["regular", "out_of_hours"].includes(s.kind) ? [] : [s.kind]);
  const kind = h(
    "select",
    { id: `f-${key}.kind`, "aria-describedby": `e-${key}.kind` },
    kinds.map((k) => h("option", { value: k, selected: k === s.kind }, k === "regular" || k === "out_of_hours" ? t(`hours_${k}`) : k)),
  );
  const boxes = WEEKDAYS.map((d) => h("input", { type: "checkbox", id: `f-${key}.${d}`, value: d, checked: s.days.includes(d), "aria-describedby": `e-${key}.days` }));
  /** @param {string} part @param {string} value */
  const time = (part, value) => {
    const f = formField(`${key}.${part}`, t(part), value, { type: "time" });
    f.input.setAttribute("aria-describedby", `e-${key}.${part} e-${key}`);
    return f;
  };
  const opens = time("opens", s.opens);
  const closes = time("closes", s.closes);
  const rowError = h("p", { class: "error", id: `e-${key}` });
  /** @type {Field} */
  const kindField = {
    key: `${key}.kind`,
    input: kind,
    el: h("div", {}, h("label", { for: kind.id }, t("hours_kind")), kind, h("p", { class: "error", id: `e-${key}.kind` })),
  };
  const daysError = h("p", { class: "error", id: `e-${key}.days` });
  /** @type {Field} */
  const daysField = { key: `${key}.days`, input: boxes[0], el: h("div", {}, daysError) };
  // A problem with the row as a whole marks the time to fill in: the empty one, else the first.
  /** @type {Field} */
  const rowField = {
    key,
    get input() {
      return opens.input.value && !closes.input.value ? closes.input : opens.input;
    },
    el: h("div", {}, rowError),
  };
  const el = h(
    "fieldset",
    { class: "schedule", "data-testid": "schedule" },
    h("legend", {}, legend),
    kindField.el,
    h(
      "fieldset",
      { class: "days" },
      h("legend", {}, t("days")),
      h("p", { class: "hint" }, t("days_hint")),
      h(
        "div",
        { class: "day-boxes" },
        boxes.map((b, j) =>
          h(
            "label",
            { class: "day", for: b.id },
            b,
            h("span", { "aria-hidden": "true" }, t(`day_${WEEKDAYS[j]}`)),
            h("span", { class: "visually-hidden" }, t(`day_${WEEKDAYS[j]}_long`)),
          ),
        ),
      ),
      daysField.el,
    ),
    h("div", { class: "times" }, opens.el, closes.el),
    h("p", { class: "hint" }, t("times_hint")),
    rowField.el,
    h(
      "p",
      {},
      h("button", { type: "button", class: "secondary", "data-testid": "remove-hours", onclick: onRemove }, t("remove"), h("span", { class: "visually-hidden" }, `: ${legend}`)),
    ),
  );
  return {
    el,
    /** @type {Field[]} */
    fields: [kindField, daysField, opens, closes, rowField],
    /** @returns {ScheduleForm} */
    value: () => ({
      kind: kind.value,
      days: boxes.filter((b) => b.checked).map((b) => b.value),
      opens: timeValue(opens.input),
      closes: timeValue(closes.input),
      from: s.from,
    }),
  };
}

/**
 * @param {string} id
 * @returns {void}
 */
export function editScreen(id) {
  if (!canEdit(id)) return contactScreen(id);
  const { settings } = state;
  const c = client().contact(id, settings.municipality || "", language(), today(), nowLocal());
  if (!c) return homeScreen();
  const stored = c.form;
  const name = formField("name", t("name"), c.name.lang === language() ? c.name.text : "");
  const phones = (c.phones.length ? c.phones : [{ number: "" }]).map((p, i) =>
    formField(`phones[${i}]`, `${t("phone_n")} ${i + 1}`, p.number, { type: "tel", dir: "ltr", autocomplete: "off" }),
  );
  const email = formField("email", t("email"), c.email, { type: "email" });
  const url = formField("url", t("website"), c.url, { type: "url" });
  const description = textField("description", t("description"), stored && stored.description, language());
  const hoursNote = textField("hours_note", t("hours_note"), stored && stored.hours_note, language());
  // The rows of opening hours: redrawn, and so renumbered, when one is added or removed.
  /** @type {ReturnType<typeof scheduleRow>[]} */
  let rows = [];
  const rowsEl = h("div", {});
  /** @param {ScheduleForm[]} schedules */
  const draw = (schedules) => {
    rows = schedules.map((s, i) => scheduleRow(i, s, () => change((list) => list.splice(i, 1), false)));
    rowsEl.replaceChildren(...(rows.length ? rows.map((r) => r.el) : [h("p", { class: "hint" }, t("hours_none"))]));
  };
  // Adds or removes a row, keeping what was entered in the others; focus goes to the new row,
  // or after a removal to the button that adds one.
  /** @param {(list: ScheduleForm[]) => void} f @param {boolean} added */
  const change = (f, added) => {
    const list = rows.map((r) => r.value());
    f(list);
    draw(list);
    (added ? rows[rows.length - 1].fields[0].input : addButton).focus();
  };
  const addButton = h(
    "button",
    {
      type: "button",
      class: "secondary",
      "data-testid": "add-hours",
      onclick: () => change((list) => list.push({ kind: "regular", days: [], opens: "", closes: "" }), true),
    },
    t("add_hours"),
  );
  draw(stored ? stored.schedules.map((s, i) => ({ ...s, from: i })) : []);
  const verified = h("input", { id: "f-verified", type: "checkbox" });
  const fields = () => [name, ...phones, email, url, description, ...rows.flatMap((r) => r.fields), hoursNote];
  const summary = h("p", { class: "error", role: "alert" });
  // The rules' own messages, not the browser's, for every field (a half-typed time included).
  const form = h(
    "form",
    {
      novalidate: true,
      onsubmit: (/** @type {Event} */ ev) => {
        ev.preventDefault();
        const all = fields();
        clearIssues(all, summary);
        /** @type {ContactEdit} */
        const edit = {
          phones: phones.map((p) => p.input.value),
          email: email.input.value,
          url: url.input.value,
          verified: verified.checked,
        };
        if (name.input.value.trim()) edit.name = { lang: language(), text: name.input.value };
        if (stored) {
          edit.description = { lang: language(), text: description.input.value };
          edit.hours_note = { lang: language(), text: hoursNote.input.value };
          edit.schedules = rows.map((r) => r.value());
        }
        const res = client().editContact(id, edit, today(), (settings.user || {}).name || "");
        if (!res.ok) {
          showIssues(res.issues, all, name, summary);
          return;
        }
        sync().applyLocal(res.effects);
        savedLocally();
        location.hash = `#/contact/${encodeURIComponent(id)}`;
      },
    },
    [name, ...phones, email, url, description].map((f) => f.el),
    stored ? h("section", { class: "hours", "aria-labelledby": "hours-h" }, h("h2", { id: "hours-h" }, t("opening_hours")), rowsEl, h("p", {}, addButton), hoursNote.el) : null,
    h("p", { class: "row" }, verified, h("label", { for: "f-verified", class: "inline" }, t("mark_verified"))),
    summary,
    h("p", { class: "row" }, h("button", { type: "submit" }, t("save")), h("a", { class: "button secondary", href: `#/contact/${encodeURIComponent(id)}` }, t("cancel"))),
  );
  show(`${t("edit_contact")}: ${c.name.text}`, form);
}

/** A new contact point in one of the editor's area documents (an admin may pick any). */
export function addScreen() {
  const { settings } = state;
  const docs = client()
    .areaDocuments(language())
    .filter((d) => mayWrite(settings.user, d.area));
  if (!docs.length) return homeScreen();
  const area = h(
    "select",
    { id: "f-area" },
    docs.map((d) => h("option", { value: d.area }, d.title)),
  );
  const name = formField("name", t("name"), "", { required: true });
  const phone = formField("phones[0]", `${t("phone_n")} 1`, "", { type: "tel", dir: "ltr", autocomplete: "off" });
  const email = formField("email", t("email"), "", { type: "email" });
  const url = formField("url", t("website"), "", { type: "url" });
  const roles = client().roles(language());
  const roleBoxes = roles.map((r) => ({ role: r.role, label: r.label, input: h("input", { type: "checkbox", id: `r-${r.role}`, value: r.role }) }));
  const rolesError = h("p", { class: "error", id: "e-roles" });
  const all = [name, phone, email, url];
  const summary = h("p", { class: "error", role: "alert" });
  const form = h(
    "form",
    {
      onsubmit: (/** @type {Event} */ ev) => {
        ev.preventDefault();
        clearIssues(all, summary);
        rolesError.textContent = "";
        const json = {
          name: { lang: language(), text: name.input.value },
          roles: roleBoxes.filter((b) => b.input.checked).map((b) => b.role),
          phones: phone.input.value.trim() ? [phone.input.value] : [],
          email: email.input.value || undefined,
          url: url.input.value || undefined,
        };
        const res = client().addContact(area.value, json, today(), (settings.user || {}).name || "");
        if (!res.ok) {
          rolesError.textContent = issuesText(res.issues.filter((i) => i.field === "roles"));
          showIssues(
            res.issues.filter((i) => i.field !== "roles"),
            all,
            name,
            summary,
          );
          return;
        }
        sync().applyLocal(res.effects);
        savedLocally();
        location.hash = `#/contact/${encodeURIComponent(res.id || "")}`;
      },
    },
    h("label", { for: "f-area" }, t("area_document")),
    area,
    all.map((f) => f.el),
    h(
      "fieldset",
      {},
      h("legend", {}, t("roles")),
      roleBoxes.map((b) => h("p", { class: "row" }, b.input, h("label", { for: b.input.id, class: "inline" }, b.label))),
      rolesError,
    ),
    summary,
    h("p", { class: "row" }, h("button", { type: "submit" }, t("save")), h("a", { class: "button secondary", href: "#/" }, t("cancel"))),
  );
  show(t("add_contact"), form);
}
