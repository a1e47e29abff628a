/**
 * Reads the top level of a serialised ONNX ModelProto: IR version, producer, opsets, metadata and
 * the graph's bytes. The loader uses it to check a model before handing it to onnxruntime, whose
 * JavaScript API does not expose metadata.
 */
import { ProtoDecodeError, ProtoReader, WIRE } from "./protobuf.ts";

export interface ModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: { domain: string; version: number }[];
  metadata: Map<string, string>;
  /** The serialised GraphProto (a view into the input). */
  graph: Uint8Array;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function text(r: ProtoReader, what: string, at: number): string {
  try {
    return decoder.decode(r.bytes);
  } catch {
    throw new ProtoDecodeError(`${what} is not valid UTF-8`, at);
  }
}

function expectWire(wire: number, expected: number, field: string, at: number): void {
  if (wire !== expected) {
    throw new ProtoDecodeError(`${field} has wire type ${wire}, expected ${expected}`, at);
  }
}

/** Reads a two-field message of (string | varint) fields into a record by field number. */
function pairs(r: ProtoReader, what: string): Map<number, string | number> {
  const out = new Map<number, string | number>();
  while (!r.done()) {
    const t = r.tag();
    if (t.wire === WIRE.bytes) out.set(t.field, text(r.message(), what, t.at));
    else if (t.wire === WIRE.varint) out.set(t.field, r.varint());
    else r.skip(t.wire);
  }
  return out;
}

/**
 * Parses the top-level fields. Throws ProtoDecodeError (with the byte offset) when the bytes are
 * not a well-formed protobuf message or hold no graph.
 */
export function readModelInfo(bytes: Uint8Array): ModelInfo {
  const r = new ProtoReader(bytes);
  const info: ModelInfo = {
    irVersion: 0,
    producerName: "",
    producerVersion: "",
    opsets: [],
    metadata: new Map(),
    graph: new Uint8Array(0),
  };
  let hasGraph = false;
  while (!r.done()) {
    const { field, wire, at } = r.tag();
    if (field === 1) {
      expectWire(wire, WIRE.varint, "ir_version", at);
      info.irVersion = r.varint();
    } else if (field === 2) {
      expectWire(wire, WIRE.bytes, "producer_name", at);
      info.producerName = text(r.message(), "producer_name", at);
    } else if (field === 3) {
      expectWire(wire, WIRE.bytes, "producer_version", at);
      info.producerVersion = text(r.message(), "producer_version", at);
    } else if (field === 7) {
      expectWire(wire, WIRE.bytes, "graph", at);
      info.graph = r.message().bytes;
      hasGraph = true;
    } else if (field === 8) {
      expectWire(wire, WIRE.bytes, "opset_import", at);
      const o = pairs(r.message(), "opset_import");
      const domain = o.get(1);
      const version = o.get(2);
      info.opsets.push({
        domain: typeof domain === "string" ? domain : "",
        version: typeof version === "number" ? version : 0,
      });
    } else if (field === 14) {
      expectWire(wire, WIRE.bytes, "metadata_props", at);
      const e = pairs(r.message(), "metadata_props");
      const key = e.get(1);
      const value = e.get(2);
      if (typeof key !== "string") throw new ProtoDecodeError("metadata entry without a key", at);
      info.metadata.set(key, typeof value === "string" ? value : "");
    } else {
      r.skip(wire);
    }
  }
  if (!hasGraph) throw new ProtoDecodeError("no graph (ModelProto field 7)", bytes.length);
  return info;
}
