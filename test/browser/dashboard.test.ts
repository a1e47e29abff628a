/**
 * The dashboard in a real browser (Debian's chromium, driven by playwright-core): start the
 * platform as a user does (counter and fraud, simulator on; the fraud use case trains its first
 * champion), open the dashboard, watch the live numbers change over the WebSocket, fill the
 * prediction form with "Randomize" and read the score, and look up an entity. Screenshots go to a
 * temporary folder, or with COELHO_UPDATE_SCREENSHOTS=1 (`bun run screenshots`) to
 * docs/screenshots/, which the README shows: a test run leaves the working tree as it was.
 */
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { type PlatformProcess, startPlatform, waitFor } from "../support/platform-process.ts";
import { tempDirs } from "../support/temp-dirs.ts";

setDefaultTimeout(180_000);
const ROOT = join(import.meta.dir, "..", "..");
const SCREENSHOTS =
  process.env.COELHO_UPDATE_SCREENSHOTS === "1"
    ? join(ROOT, "docs", "screenshots")
    : mkdtempSync(join(tmpdir(), "coelho-screenshots-"));
const CHROMIUM = process.env.COELHO_CHROMIUM ?? "/usr/bin/chromium";
/** In the API workstream's test port range (19550-19599). */
const PORT = 19560;
const ADMIN_TOKEN = "browser-test-admin-token-42";

let platform: PlatformProcess;
let context: BrowserContext;
let page: Page;
const temp = tempDirs({ removeAfterAll: false });

beforeAll(async () => {
  const provision = Bun.spawn(["bash", join(ROOT, "scripts", "chromium", "provision.sh")], {
    stdout: "inherit",
    stderr: "inherit",
  });
  expect(await provision.exited).toBe(0);
  const dataDir = temp.make("coelho-browser-");
  const profile = temp.make("coelho-chromium-");
  platform = startPlatform({
    COELHO_HTTP_PORT: String(PORT),
    COELHO_DATA_DIR: dataDir,
    COELHO_USECASES: "counter,fraud",
    COELHO_SIMULATE: "true",
    COELHO_SIMULATE_RATE: "150",
    COELHO_PARTITIONS: "2",
    COELHO_LOG_FSYNC: "never",
    COELHO_INSTANCE_ID: "browser-test",
    COELHO_ADMIN_TOKEN: ADMIN_TOKEN,
  });
  await waitFor("the platform to be ready (first champion trained)", 120_000, async () => {
    if (platform.proc.exitCode !== null) {
      throw new Error(`the platform exited: ${platform.stderr().slice(-1000)}`);
    }
    const { status } = await platform.get("/health/ready");
    return status === 200 ? true : undefined;
  }).catch((error: Error) => {
    throw new Error(`${error.message}\n${platform.stderr().slice(-2000)}`);
  });
  // playwright-core drives the given binary; the profile is fresh, so nothing leaks between runs.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 1300 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 60_000,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
}, 240_000);

afterAll(async () => {
  await context?.close().catch(() => {});
  if (platform) {
    platform.proc.kill("SIGTERM");
    await platform.proc.exited;
  }
  await temp.removeAll();
  if (process.env.COELHO_UPDATE_SCREENSHOTS !== "1") {
    rmSync(SCREENSHOTS, { recursive: true, force: true });
  }
});

async function text(selector: string): Promise<string> {
  return (await page.textContent(selector))?.trim() ?? "";
}

test("the dashboard shows live numbers pushed over the WebSocket", async () => {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`http://127.0.0.1:${PORT}/`);
  await page.waitForSelector('#connection:text-is("live")');
  // Two different readings of the scoring rate: the numbers move without a reload.
  const seen = new Set<string>();
  await waitFor("the scores/s tile to change twice", 30_000, async () => {
    const value = await text("#scores-rate");
    if (value !== "–" && value !== "") seen.add(value);
    return seen.size >= 3 ? true : undefined;
  });
  expect(await text("#champion")).toBe("v1");
  expect(await text("#events-rate")).not.toBe("–");
  expect(await page.locator("#instances tbody tr").count()).toBe(1);
  await waitFor("the score histogram to be drawn", 15_000, async () =>
    (await page.locator("#score-histogram .main-svg").count()) > 0 ? true : undefined,
  );
  await waitFor("a quality or rate chart", 15_000, async () =>
    (await page.locator("#rate-chart .main-svg").count()) > 0 ? true : undefined,
  );
  // Let flagged events and a few seconds of history accumulate for the screenshot.
  await waitFor("a flagged event in the table", 30_000, async () =>
    (await page.locator("#alerts tbody tr").count()) > 0 ? true : undefined,
  );
  // Flags come with the model's reasons: a feature's value and the log-odds it added.
  await waitFor("a flagged event with its reasons", 30_000, async () =>
    /\w+=[-\d.]+ \(\+[\d.]+\)/.test(await text("#alerts tbody")) ? true : undefined,
  );
  await Bun.sleep(3_000);
  await page.screenshot({ path: join(SCREENSHOTS, "dashboard.png"), fullPage: true });
  expect(errors).toEqual([]);
});

test("the prediction form: randomize, score, and look the entity up", async () => {
  const before = await page.inputValue('[name="transaction_id"]');
  await page.click("#randomize");
  // Randomize fetches an example: wait for it to land in the form before reading it.
  await waitFor("the randomized transaction in the form", 10_000, async () =>
    (await page.inputValue('[name="transaction_id"]')) !== before ? true : undefined,
  );
  const card = await page.inputValue('[name="card_id"]');
  expect(card.length).toBeGreaterThan(0);
  expect(Number(await page.inputValue('[name="amount"]'))).toBeGreaterThanOrEqual(0);
  await page.check("#apply");
  await page.click("#score");
  await page.waitForSelector("#prediction-result .score-value");
  const score = Number(await text("#prediction-result .score-value"));
  expect(score).toBeGreaterThanOrEqual(0);
  expect(score).toBeLessThanOrEqual(1);
  expect(await text("#prediction-result")).toMatch(/→ (flag|pass)/);
  expect(await page.locator("#prediction-features tbody tr").count()).toBeGreaterThan(10);
  // Explained: every feature with the log-odds it added, under a header row.
  expect(await text("#prediction-features tbody tr:first-child")).toContain("log-odds added");
  expect(await text("#prediction-features tbody")).toMatch(/[+-]\d+\.\d{3}/);
  await page.locator("#prediction-result").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SCREENSHOTS, "prediction.png"), fullPage: false });

  // The applied transaction reaches the card's shard; the lookup shows its state.
  await page.fill("#entity-key", card);
  await waitFor("the entity lookup to find the applied card", 30_000, async () => {
    await page.click("#lookup");
    await Bun.sleep(200);
    return (await text("#entity-result")).includes('"state"') ? true : undefined;
  }).catch(async (error: Error) => {
    throw new Error(`${error.message}; the lookup shows: ${await text("#entity-result")}`);
  });
  expect(await text("#entity-result")).toContain(card);
  await page.locator("#entity-result").scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SCREENSHOTS, "entity-lookup.png"), fullPage: false });
});

test("the models panel shows what each version relies on", async () => {
  // The champion's most important features, from its importance metrics (largest first).
  const reliesOn = await waitFor("the models table", 15_000, async () => {
    const cells = await page.locator("#models tbody tr td:nth-child(6)").allTextContents();
    return cells.length > 0 && cells[0] !== "" ? cells : undefined;
  });
  expect(reliesOn[0]).toMatch(/^[a-z0-9_]+ \d+\.\d\d(, [a-z0-9_]+ \d+\.\d\d){2}$/);
  // No retraining ran: the rollout line says the champion serves alone.
  const rollout = await waitFor("the rollout line", 15_000, async () => {
    const line = await page.locator("#rollout-status").textContent();
    return line ? line : undefined;
  });
  expect(rollout).toBe("no rollout: the champion serves alone");
});

test("the dead-letters panel counts each input topic's refused events", async () => {
  // The simulator writes valid events only: every topic of the use case shows 0 refused.
  const summary = await waitFor("the dead-letters summary", 15_000, async () => {
    const text = await page.locator("#dead-letters-summary").textContent();
    return text?.includes("refused") ? text : undefined;
  });
  expect(summary).toContain("fraud.transactions: 0 refused");
  expect(summary).toContain("fraud.labels: 0 refused");
  expect(await page.locator("#dead-letters tbody").textContent()).toBe("no refused events");
});

test("the models panel asks for the admin token, and the server accepts it", async () => {
  const asked: string[] = [];
  page.once("dialog", async (dialog) => {
    asked.push(dialog.message());
    await dialog.accept(ADMIN_TOKEN);
  });
  await page.click("#rollback");
  await waitFor("the rollback's answer", 15_000, async () =>
    (await text("#model-message")) !== "" ? true : undefined,
  );
  expect(asked).toEqual(["Admin token (COELHO_ADMIN_TOKEN)"]);
  // One version only: the rollback is refused for that reason, not for the token (401/403).
  const message = await text("#model-message");
  expect(message).toContain("rollback");
  expect(message).not.toMatch(/\((401|403)\)/);
  expect(await page.evaluate("sessionStorage.getItem('coelho.adminToken')")).toBe(ADMIN_TOKEN);
});
