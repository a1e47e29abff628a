/**
 * Card state to text for the shard's checkpoint store, and back, exactly: features computed from a
 * restored state equal those from the state before the checkpoint.
 *
 * Format: `v1;<12 comma-separated numbers>;<base64 of the 144 slots, little-endian u32>`. Numbers
 * are JavaScript's shortest round-trip decimal text, so doubles survive exactly. About 1 KB of text
 * for a card with a full history.
 */
import { ValidationError } from "../../runtime/errors.ts";
import { type CardState, SLOT_COUNT } from "./card-state.ts";

const VERSION = "v1";
const SCALARS = 12;
// One scratch buffer: the state's own array is never viewed as bytes (reading `.buffer` of a small
// typed array makes the engine give it a separate ArrayBuffer, which costs heap for as long as the
// state lives).
const scratch = new DataView(new ArrayBuffer(SLOT_COUNT * 4));
const scratchBytes = new Uint8Array(scratch.buffer);

/** Encodes a card state as compact text. */
export function encodeCardState(state: CardState): string {
  const scalars = [
    state.count,
    state.amountMeanLog,
    state.amountM2Log,
    state.lastTimeMs,
    state.lastLat,
    state.lastLon,
    state.homeX,
    state.homeY,
    state.homeZ,
    state.categoryMask,
    state.cvvMissingMask,
    state.newMerchantMask,
  ];
  for (let i = 0; i < SLOT_COUNT; i++) scratch.setUint32(i * 4, state.slots[i] ?? 0, true);
  return `${VERSION};${scalars.join(",")};${Buffer.from(scratchBytes).toString("base64")}`;
}

/** Decodes {@link encodeCardState}'s text; throws a ValidationError on text it did not write. */
export function decodeCardState(text: string): CardState {
  const parts = text.split(";");
  if (parts.length !== 3 || parts[0] !== VERSION) {
    throw new ValidationError("", `card state: expected "${VERSION};<numbers>;<base64>"`);
  }
  const scalars = (parts[1] ?? "").split(",").map(Number);
  const bytes = Buffer.from(parts[2] ?? "", "base64");
  if (scalars.length !== SCALARS || scalars.some((v) => !Number.isFinite(v))) {
    throw new ValidationError("", `card state: expected ${SCALARS} finite numbers`);
  }
  if (bytes.length !== SLOT_COUNT * 4) {
    throw new ValidationError("", `card state: expected ${SLOT_COUNT * 4} bytes of slots`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slots = new Uint32Array(SLOT_COUNT);
  for (let i = 0; i < SLOT_COUNT; i++) slots[i] = view.getUint32(i * 4, true);
  const [count, mean, m2, lastTime, lastLat, lastLon, hx, hy, hz, categories, cvv, newMerchant] =
    scalars as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
  return {
    count,
    amountMeanLog: mean,
    amountM2Log: m2,
    lastTimeMs: lastTime,
    lastLat,
    lastLon,
    homeX: hx,
    homeY: hy,
    homeZ: hz,
    categoryMask: categories,
    cvvMissingMask: cvv,
    newMerchantMask: newMerchant,
    slots,
  };
}
