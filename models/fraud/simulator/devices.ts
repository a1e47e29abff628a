/**
 * Devices as the events show them: an OS, a browser, a user agent consistent with both, and a
 * stable device id (fingerprint).
 */
import type { Browser, DeviceOs } from "../schema.ts";
import type { Rng } from "./random.ts";

export interface Device {
  id: string;
  os: DeviceOs;
  browser: Browser;
  userAgent: string;
}

/** Common OS and browser pairs with their rough share of card-not-present traffic. */
const DEVICE_MIX: readonly { os: DeviceOs; browser: Browser; weight: number }[] = [
  { os: "iOS", browser: "Safari", weight: 24 },
  { os: "iOS", browser: "Chrome", weight: 2 },
  { os: "Android", browser: "Chrome", weight: 24 },
  { os: "Android", browser: "Other", weight: 3 },
  { os: "Android", browser: "Opera", weight: 1 },
  { os: "Windows", browser: "Chrome", weight: 17 },
  { os: "Windows", browser: "Edge", weight: 7 },
  { os: "Windows", browser: "Firefox", weight: 3 },
  { os: "Windows", browser: "Opera", weight: 1 },
  { os: "macOS", browser: "Safari", weight: 8 },
  { os: "macOS", browser: "Chrome", weight: 6 },
  { os: "macOS", browser: "Firefox", weight: 1 },
  { os: "Linux", browser: "Firefox", weight: 1.5 },
  { os: "Linux", browser: "Chrome", weight: 1 },
  { os: "Other", browser: "Other", weight: 0.5 },
];
const DEVICE_WEIGHTS = DEVICE_MIX.map((d) => d.weight);

function platform(os: DeviceOs, safariVersion: string, rng: Rng): string {
  switch (os) {
    case "iOS":
      // On iOS the Safari version is the OS version.
      return `iPhone; CPU iPhone OS ${safariVersion.replace(".", "_")} like Mac OS X`;
    case "Android":
      return `Linux; Android ${rng.int(11, 15)}; ${rng.pick(["Pixel 8", "SM-S918B", "SM-A546B", "moto g84", "2201116SG"])}`;
    case "Windows":
      return "Windows NT 10.0; Win64; x64";
    case "macOS":
      return `Macintosh; Intel Mac OS X 10_15_${rng.int(6, 7)}`;
    case "Linux":
      return "X11; Linux x86_64";
    default:
      return "X11; CrOS x86_64 15633.69.0";
  }
}

/** A user agent string consistent with the OS and browser. */
export function userAgent(os: DeviceOs, browser: Browser, rng: Rng): string {
  const safariVersion = `${rng.int(15, 18)}.${rng.int(0, 6)}`;
  const base = platform(os, safariVersion, rng);
  const chrome = `${rng.int(118, 126)}.0.${rng.int(5900, 6500)}.${rng.int(50, 200)}`;
  const mobile = os === "iOS" || os === "Android" ? "Mobile " : "";
  switch (browser) {
    case "Safari":
      return os === "iOS"
        ? `Mozilla/5.0 (${base}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${safariVersion} Mobile/15E148 Safari/604.1`
        : `Mozilla/5.0 (${base}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${safariVersion} Safari/605.1.15`;
    case "Chrome":
      return os === "iOS"
        ? `Mozilla/5.0 (${base}) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/${chrome} Mobile/15E148 Safari/604.1`
        : `Mozilla/5.0 (${base}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${chrome} ${mobile}Safari/537.36`;
    case "Firefox": {
      const version = rng.int(115, 128);
      return `Mozilla/5.0 (${base}; rv:${version}.0) Gecko/20100101 Firefox/${version}.0`;
    }
    case "Edge":
      return `Mozilla/5.0 (${base}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${chrome} Safari/537.36 Edg/${chrome}`;
    case "Opera":
      return `Mozilla/5.0 (${base}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${chrome} ${mobile}Safari/537.36 OPR/${rng.int(100, 112)}.0.0.0`;
    default:
      return `Mozilla/5.0 (${base}) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/${rng.int(20, 26)}.0 Chrome/${chrome} ${mobile}Safari/537.36`;
  }
}

/** A new device drawn from the traffic mix. */
export function randomDevice(rng: Rng): Device {
  const mix = DEVICE_MIX[rng.weighted(DEVICE_WEIGHTS)] ?? { os: "Other", browser: "Other" };
  return {
    id: `dev-${rng.uint32().toString(16).padStart(8, "0")}${rng.uint32().toString(16).padStart(8, "0")}`,
    os: mix.os,
    browser: mix.browser,
    userAgent: userAgent(mix.os, mix.browser, rng),
  };
}
