// Open a review page in headless Chromium as a reader would, and report what a person would
// notice: errors in the console, any request beyond the page itself (the page must load nothing),
// charts that did not draw, a page that does not fit a laptop screen. Writes a screenshot.
//
//   node tests/review/check.mjs PAGE.html SCREENSHOT.png
//
// Prints one JSON object; exits 0 when it could check (the caller judges the findings), 1 when it
// could not run Chromium. Chromium is Debian's (/usr/bin/chromium, or CHROMIUM), started with the
// flags that keep it off this machine's closed network.
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [page_path, screenshot] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
  ],
});
const findings = { console_errors: [], page_errors: [], requests: [], charts: [], tables: 0, sorted: null };
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const url = pathToFileURL(page_path).href;
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") findings.console_errors.push(m.text()); });
  page.on("pageerror", (e) => findings.page_errors.push(String(e)));
  page.on("request", (r) => { if (r.url() !== url) findings.requests.push(r.url()); });
  await page.goto(url, { waitUntil: "load" });
  // Every chart: an inline SVG with drawn elements and a real size on screen.
  findings.charts = await page.$$eval("figure.chart svg", (svgs) => svgs.map((s) => {
    const box = s.getBoundingClientRect();
    return { width: Math.round(box.width), height: Math.round(box.height), elements: s.querySelectorAll("path, polyline, rect, circle, text, line").length };
  }));
  findings.tables = await page.$$eval("table", (t) => t.length);
  findings.title = await page.title();
  findings.verdict = await page.$eval(".banner .verdict", (e) => e.textContent).catch(() => null);
  findings.overflow_x = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  // Sorting: click the "change" header of the last table (every figure) twice; the column must end
  // descending by its numbers.
  const table = page.locator("table.sortable").last();
  const header = table.locator("thead th", { hasText: /^change$/ });
  if (await header.count() === 1) {
    await header.click();
    await header.click();
    findings.sorted = await table.evaluate((t) => {
      const column = Array.from(t.tHead.rows[0].cells).findIndex((c) => c.textContent === "change");
      const values = Array.from(t.tBodies[0].rows).map((r) => r.cells[column].getAttribute("data-sort"))
        .filter((v) => v !== null).map(Number);
      return values.every((v, i) => i === 0 || values[i - 1] >= v) && values.length > 1;
    });
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  await page.emulateMedia({ media: "print" });
  findings.print_pages = (await page.pdf({ format: "A4" })).length > 0;
} finally {
  await browser.close();
}
console.log(JSON.stringify(findings));
