// @ts-check
// Who may change what, the one check of the app: it mirrors the relay's writing rule
// (`Identity::access` in server/src/auth.rs), which decides; the app only avoids offering what
// the relay would refuse. Readers change nothing.

/** @typedef {import("./state.js").User} User */

/**
 * Whether the user keeps entries current somewhere: an editor or an administrator.
 * @param {User | undefined} user
 */
export function maintains(user) {
  const role = (user || {}).role;
  return role === "admin" || role === "editor";
}

/**
 * Whether the user may write a document of this area key (`national`, `municipality:092`,
 * `restricted:municipality:092`): an administrator every one, an editor those of the areas they
 * were given, members-only ones included.
 * @param {User | undefined} user
 * @param {string} area
 */
export function mayWrite(user, area) {
  const u = user || {};
  if (u.role === "admin") return true;
  return u.role === "editor" && (u.areas || []).includes(area.replace(/^restricted:/, ""));
}

/**
 * The areas whose entries this user keeps current, as the wasm views take them: an
 * administrator all of them.
 * @param {User | undefined} user
 * @returns {import("./wasm.js").Areas}
 */
export function reviewAreas(user) {
  const u = user || {};
  if (u.role === "admin") return { kind: "all" };
  return { kind: "only", areas: u.role === "editor" ? u.areas || [] : [] };
}

/**
 * Whether these areas hold any document.
 * @param {import("./wasm.js").Areas} areas
 */
export function hasAreas(areas) {
  return areas.kind === "all" || areas.areas.length > 0;
}

/**
 * Whether the user may change this contact: the same rule, for the document that holds it.
 * @param {User | undefined} user
 * @param {string[] | undefined} scope `[documentId, area]` of the document holding the contact
 */
export function mayEditContact(user, scope) {
  return !!scope && mayWrite(user, scope[1]);
}
