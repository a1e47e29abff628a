/**
 * The dashboard's assets through `app.handle`: the page, and its script bundled by Bun with
 * plotly.js from node_modules (no CDN). The dashboard's sources type-check with the DOM library
 * (they are outside the server's tsconfig). The browser test (test/browser/) drives it for real.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { startTestPlatform, type TestPlatform } from "./support.ts";

setDefaultTimeout(60_000);
const ROOT = join(import.meta.dir, "..", "..");
let served: TestPlatform;

beforeAll(async () => {
  served = await startTestPlatform({ champion: false });
}, 60_000);
afterAll(async () => {
  await served?.stop();
});

test("/ serves the page and /dashboard.js the bundled script with plotly inside", async () => {
  const page = await served.app.handle(new Request("http://localhost/"));
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toContain("text/html");
  const html = await page.text();
  expect(html).toContain('src="/dashboard.js"');
  expect(html).not.toMatch(/https?:\/\/(cdn|unpkg|jsdelivr)/);
  const script = await served.app.handle(new Request("http://localhost/dashboard.js"));
  expect(script.status).toBe(200);
  expect(script.headers.get("content-type")).toContain("javascript");
  const js = await script.text();
  expect(js).toContain("plotly");
  expect(js.length).toBeGreaterThan(1_000_000);
});

test("the dashboard's sources type-check", async () => {
  const tsc = Bun.spawn(
    [join(ROOT, "node_modules", ".bin", "tsc"), "--noEmit", "-p", join(ROOT, "dashboard")],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = await new Response(tsc.stdout).text();
  expect(out).toBe("");
  expect(await tsc.exited).toBe(0);
});
