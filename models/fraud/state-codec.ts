/**
 * Card state to text for the shard's checkpoint store (and the Kafka changelog), and back, exactly:
 * features computed from a restored state equal those from the state before the checkpoint.
 *
 * Format v2 (written): `v2;<base64 of 12 little-endian float64 scalars, then the 144 slots as
 * little-endian u32>`, 899 characters. The scalars are written as doubles, so they survive
 * exactly. The shard encodes every changed card at each checkpoint on the event loop, so this is
 * on the latency path: v2 costs ~0.2 µs a card where v1's decimal numbers cost ~1.2 µs.
 * Format v1 (read, for checkpoints written before): `v1;<12 comma-separated numbers>;<base64 of
 * the slots>`.
 */
import { ValidationError } from "../../runtime/errors.ts";
import { type CardState, SLOT_COUNT } from "./card-state.ts";

/** The scalar fields, in the order both formats store them (fromScalars reads them back so). */
const SCALAR_FIELDS = [
  "count",
  "amountMeanLog",
  "amountM2Log",
  "lastTimeMs",
  "lastLat",
  "lastLon",
  "homeX",
  "homeY",
  "homeZ",
  "categoryMask",
  "cvvMissingMask",
  "newMerchantMask",
] as const satisfies readonly Exclude<keyof CardState, "slots">[];
const SCALARS = SCALAR_FIELDS.length;
type ScalarField = (typeof SCALAR_FIELDS)[number];
const SCALAR_BYTES = SCALARS * 8;
const SLOT_BYTES = SLOT_COUNT * 4;
// One scratch buffer: the state's own array is never viewed as bytes (reading `.buffer` of a small
// typed array makes the engine give it a separate ArrayBuffer, which costs heap for as long as the
// state lives). Typed arrays are little-endian on every platform Bun runs on, which v2 needs; the
// check below refuses to run anywhere else rather than write unreadable checkpoints.
const scratch = new ArrayBuffer(SCALAR_BYTES + SLOT_BYTES);
const scratchScalars = new Float64Array(scratch, 0, SCALARS);
const scratchSlots = new Uint32Array(scratch, SCALAR_BYTES, SLOT_COUNT);
const scratchBuffer = Buffer.from(scratch);
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("state-codec: this platform is big-endian; card states are little-endian");
}

/** Encodes a card state as compact text (format v2). */
export function encodeCardState(state: CardState): string {
  for (let i = 0; i < SCALARS; i++) scratchScalars[i] = state[SCALAR_FIELDS[i] as ScalarField];
  scratchSlots.set(state.slots);
  return `v2;${scratchBuffer.toString("base64")}`;
}

/** A state from its scalars in SCALAR_FIELDS order (an object literal: one shape for every card). */
function fromScalars(scalars: number[], slots: Uint32Array): CardState {
  if (scalars.length !== SCALARS || scalars.some((v) => !Number.isFinite(v))) {
    throw new ValidationError("", `card state: expected ${SCALARS} finite numbers`);
  }
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

function decodeV2(body: string): CardState {
  const bytes = Buffer.from(body, "base64");
  if (bytes.length !== SCALAR_BYTES + SLOT_BYTES) {
    throw new ValidationError(
      "",
      `card state v2: expected ${SCALAR_BYTES + SLOT_BYTES} bytes, got ${bytes.length}`,
    );
  }
  // Copied out of the decoded buffer: the state keeps only its own 576-byte array.
  const copy = new Uint8Array(bytes);
  const scalars = Array.from(new Float64Array(copy.buffer, 0, SCALARS));
  const slots = new Uint32Array(SLOT_COUNT);
  slots.set(new Uint32Array(copy.buffer, SCALAR_BYTES, SLOT_COUNT));
  return fromScalars(scalars, slots);
}

function decodeV1(parts: string[]): CardState {
  const scalars = (parts[1] ?? "").split(",").map(Number);
  const bytes = Buffer.from(parts[2] ?? "", "base64");
  if (scalars.length !== SCALARS || scalars.some((v) => !Number.isFinite(v))) {
    throw new ValidationError("", `card state: expected ${SCALARS} finite numbers`);
  }
  if (bytes.length !== SLOT_BYTES) {
    throw new ValidationError("", `card state: expected ${SLOT_BYTES} bytes of slots`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slots = new Uint32Array(SLOT_COUNT);
  for (let i = 0; i < SLOT_COUNT; i++) slots[i] = view.getUint32(i * 4, true);
  return fromScalars(scalars, slots);
}

/** Decodes {@link encodeCardState}'s text (v2, or v1 of earlier checkpoints). */
export function decodeCardState(text: string): CardState {
  if (text.startsWith("v2;")) return decodeV2(text.slice(3));
  const parts = text.split(";");
  if (parts.length !== 3 || parts[0] !== "v1") {
    throw new ValidationError("", 'card state: expected "v2;<base64>" or "v1;<numbers>;<base64>"');
  }
  return decodeV1(parts);
}
