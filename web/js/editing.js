// @ts-check
// The editing screens, loaded on demand (on-demand.js): the edit and add forms, an entry's
// history, an area's local version of a card, and the editors' lists (review queue, retired entries, discarded values), with their
// words and the rules' messages. A reader never downloads them; an editor's app loads them at
// start, and the service worker keeps them, across updates too. They reach the app's modules
// through lent.js only (the build checks that the module carries none of the app's own).

export { MESSAGES, WORDS } from "./editing-words.js";
export { addScreen, editScreen } from "./screen-edit.js";
export { historyScreen } from "./screen-history.js";
export { localScreen } from "./screen-local.js";
export { discardedScreen, retiredScreen, reviewScreen } from "./screen-lists.js";
