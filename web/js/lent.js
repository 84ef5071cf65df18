// @ts-check
// What the app lends the editing screens (editing.js), which load on demand: they import the
// app's modules through this one only. The app's bundle exports these names (app.js), and the
// build points the editing module's import of this file at the bundle, so the editing screens
// share the running app's state, language and connection instead of carrying copies.

export { h, show } from "./dom.js";
export { applied, fieldLabel, issuesText, setField } from "./forms.js";
export { issueText, language, t } from "./i18n.js";
export { mayWrite, reviewAreas } from "./permissions.js";
export { cardScreen } from "./screen-card.js";
export { contactScreen } from "./screen-contact.js";
export { homeScreen } from "./screen-home.js";
export { client, state, sync } from "./state.js";
export { savedLocally, statusSays } from "./status.js";
export { formatTime, nowLocal, today } from "./time.js";
export { canEdit } from "./widgets.js";
