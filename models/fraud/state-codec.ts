/**
 * Card state to bytes for the shard's checkpoint store (and the Kafka changelog), and back,
 * exactly: features computed from a restored state equal those from the state before the
 * checkpoint.
 *
 * Format v3 (written): byte 0 is 3, bytes 1-7 are zero (so the doubles that follow are 8-byte
 * aligned in the scratch buffer), then the 12 scalars as little-endian float64 and the 144 slots
 * as little-endian u32: 680 bytes. Doubles survive exactly. The shard encodes every changed card
 * at each checkpoint on the event loop, so this is on the latency path: encoding fills one scratch
 * buffer that the shard copies, with no string and no allocation per card (v2's base64 text
 * made four ~900-byte copies a card: the text, the prefixed text, its share of the joined checkpoint
 * and its UTF-8 for the writer thread).
 * Earlier formats (read, for checkpoints and changelogs written before), as UTF-8 text:
 * v2 `v2;<base64 of the same scalars and slots>`; v1 `v1;<12 comma-separated numbers>;<base64 of
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
const V3 = 3;
const V3_HEADER_BYTES = 8;
/** Bytes of a v3 state. */
export const CARD_STATE_BYTES = V3_HEADER_BYTES + SCALAR_BYTES + SLOT_BYTES;
// One scratch buffer: the state's own array is never viewed as bytes (reading `.buffer` of a small
// typed array makes the engine give it a separate ArrayBuffer, which costs heap for as long as the
// state lives). Typed arrays are little-endian on every platform Bun runs on, which the formats
// need; the check below refuses to run anywhere else rather than write unreadable checkpoints.
const scratch = new ArrayBuffer(CARD_STATE_BYTES);
const scratchBytes = new Uint8Array(scratch);
const scratchScalars = new Float64Array(scratch, V3_HEADER_BYTES, SCALARS);
const scratchSlots = new Uint32Array(scratch, V3_HEADER_BYTES + SCALAR_BYTES, SLOT_COUNT);
scratchBytes[0] = V3;
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("state-codec: this platform is big-endian; card states are little-endian");
}
const utf8 = new TextDecoder();

/**
 * Encodes a card state (format v3). The bytes are a view of a scratch buffer that the next call
 * overwrites: copy them to keep them (the shard does, into its checkpoint).
 */
export function encodeCardState(state: CardState): Uint8Array {
  for (let i = 0; i < SCALARS; i++) scratchScalars[i] = state[SCALAR_FIELDS[i] as ScalarField];
  scratchSlots.set(state.slots);
  return scratchBytes;
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

/** Scalars and slots laid out as v3 and v2 store them (from `body[0]`). */
function fromBody(body: Uint8Array, format: string): CardState {
  if (body.length !== SCALAR_BYTES + SLOT_BYTES) {
    throw new ValidationError(
      "",
      `card state ${format}: expected ${SCALAR_BYTES + SLOT_BYTES} bytes of scalars and slots, got ${body.length}`,
    );
  }
  // Through the aligned scratch buffer (the view may start anywhere in a packed checkpoint), and
  // copied out of it: the state keeps only its own 576-byte array.
  scratchBytes.set(body, V3_HEADER_BYTES);
  const scalars = Array.from(scratchScalars);
  const slots = new Uint32Array(SLOT_COUNT);
  slots.set(scratchSlots);
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

/** Decodes {@link encodeCardState}'s bytes (v3), or the text formats of earlier checkpoints. */
export function decodeCardState(bytes: Uint8Array): CardState {
  if (bytes[0] === V3) {
    for (let i = 1; i < V3_HEADER_BYTES; i++) {
      if (bytes[i] !== 0) throw new ValidationError("", "card state v3: malformed header");
    }
    return fromBody(bytes.subarray(V3_HEADER_BYTES), "v3");
  }
  const text = utf8.decode(bytes);
  if (text.startsWith("v2;")) return fromBody(Buffer.from(text.slice(3), "base64"), "v2");
  const parts = text.split(";");
  if (parts.length !== 3 || parts[0] !== "v1") {
    throw new ValidationError(
      "",
      'card state: expected v3 bytes, or the text "v2;<base64>" or "v1;<numbers>;<base64>"',
    );
  }
  return decodeV1(parts);
}
