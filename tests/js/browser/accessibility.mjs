// Browser test: the accessibility statement. Before signing in, a Swedish-speaking visitor
// follows the footer's link to the statement; then the same in Finnish. The statement gives its
// conformance, its known gaps, its date, the operator's feedback address (as a link) and the
// supervisory authority.
//
// node accessibility.mjs --url http://127.0.0.1:PORT/
// The result holds each language's statement as shown.

import { args, finish, launch, need, newPage, run } from "./common.mjs";

run(async () => {
  const a = args();
  need(a, "url");
  const browser = await launch();
  const shown = {};
  for (const [lang, locale] of [["sv", "sv-FI"], ["fi", "fi-FI"]]) {
    const { context, page } = await newPage(browser, { locale });
    await page.goto(a.url);
    await page.locator("#code").waitFor();
    await page.locator('footer a[href="#/accessibility"]').click();
    await page.locator("main [data-testid=a11y-gaps]").waitFor();
    // The address comes from the relay after the statement is drawn.
    await page.locator("main [data-testid=feedback-contact] a").waitFor();
    shown[lang] = await page.evaluate(() => ({
      title: document.querySelector("main h1").textContent,
      status: document.querySelector("[data-testid=a11y-status]").textContent,
      gaps: document.querySelectorAll("[data-testid=a11y-gaps] li").length,
      feedback: document.querySelector("[data-testid=feedback-contact] a").getAttribute("href"),
      text: document.querySelector("main").innerText,
    }));
    await context.close();
  }
  await browser.close();
  finish({ shown });
});
