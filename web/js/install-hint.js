// @ts-check
// The hint to install the app, shown once, above the screen: with an Install button that opens
// the browser's own prompt where the browser offered one (`beforeinstallprompt`), else (iOS
// Safari) a line saying how to add the app to the home screen. Closing it, or installing, is
// stored, so it does not come back. on-demand.js loads it only when the hint is to be shown.

export const WORDS = {
  install_hint: {
    fi: "Asenna Yhteyspiste kotinäytölle, niin se aukeaa nopeasti myös ilman verkkoyhteyttä.",
    sv: "Installera Kontaktpunkt på hemskärmen, så öppnas den snabbt även utan nätanslutning.",
    en: "Install Contact Point on your home screen: it then opens quickly, even without a connection.",
  },
  install_ios: {
    fi: "iPhonessa ja iPadissa: napauta Safarin Jaa-painiketta ja valitse Lisää Koti-valikkoon.",
    sv: "På iPhone och iPad: tryck på Dela i Safari och välj Lägg till på hemskärmen.",
    en: "On an iPhone or iPad: tap Share in Safari, then Add to Home Screen.",
  },
  install: { fi: "Asenna", sv: "Installera", en: "Install" },
  dismiss: { fi: "Sulje", sv: "Stäng", en: "Close" },
  admin_title: { fi: "Ylläpito", sv: "Administration", en: "Administration" },
};

/**
 * What the app lends: its element builder, words and main element, the browser's install offer
 * (if any), and ways to say that the offer was taken and that the hint is done with.
 * @typedef {{
 *   h: typeof import("./dom.js").h, t: (key: string) => string, main: HTMLElement,
 *   offer: () => any, taken: () => unknown, done: () => Promise<void>,
 * }} Lent
 */

/** @param {Lent} lent */
export function installHint({ h, t, main, offer, taken, done }) {
  const old = document.getElementById("install-hint");
  if (old) old.remove();
  // Gone only once the choice is stored: removed first, a reload straight after could lose it
  // and show the hint again.
  const close = async () => {
    try {
      await done();
    } finally {
      el.remove();
    }
  };
  const el = h(
    "aside",
    { id: "install-hint", class: "install-hint", "aria-label": t("install"), "data-testid": "install-hint" },
    h("p", {}, t("install_hint"), " ", offer() ? null : t("install_ios")),
    h(
      "p",
      { class: "row" },
      offer()
        ? h(
            "button",
            {
              type: "button",
              "data-testid": "install",
              onclick: async () => {
                const prompt = offer();
                taken();
                await prompt.prompt();
                await close();
              },
            },
            t("install"),
          )
        : null,
      h("button", { type: "button", class: "secondary", "data-testid": "install-dismiss", onclick: close }, t("dismiss")),
    ),
  );
  main.before(el);
}
