/**
 * Encoders for the ONNX messages this project writes: ModelProto, GraphProto, NodeProto,
 * AttributeProto, TensorProto, ValueInfoProto (with TypeProto and TensorShapeProto) and
 * OperatorSetIdProto. Field numbers follow onnx/onnx.proto.
 */
import { ProtoWriter } from "./protobuf.ts";

/** TensorProto.DataType values used here. */
export const DATA_TYPE = { float: 1, int64: 7, double: 11 } as const;
export type ElemType = keyof typeof DATA_TYPE;

/** AttributeProto.AttributeType values used here. */
const ATTR = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7, strings: 8 } as const;

export interface TensorSpec {
  name: string;
  dataType: ElemType;
  dims: number[];
  values: ArrayLike<number>;
}

export type AttributeSpec =
  | { name: string; type: "float"; value: number }
  | { name: string; type: "int"; value: number }
  | { name: string; type: "string"; value: string }
  | { name: string; type: "tensor"; value: TensorSpec }
  | { name: string; type: "floats"; value: ArrayLike<number> }
  | { name: string; type: "ints"; value: ArrayLike<number> }
  | { name: string; type: "strings"; value: string[] };

export interface NodeSpec {
  opType: string;
  /** "" (default) for ai.onnx, "ai.onnx.ml" for the classical ML operators. */
  domain?: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes?: AttributeSpec[];
}

export interface ValueInfoSpec {
  name: string;
  elemType: ElemType;
  /** A number for a fixed dimension, a string for a symbolic one (e.g. "N"). */
  shape: (number | string)[];
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  initializers: TensorSpec[];
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
  docString?: string;
}

export interface ModelSpec {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  modelVersion?: number;
  docString?: string;
  metadata: Record<string, string>;
}

// Typed arrays are in platform byte order and ONNX raw_data is little-endian: they must agree.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** TensorProto with little-endian raw_data. */
export function encodeTensor(t: TensorSpec): Uint8Array {
  if (!LITTLE_ENDIAN) throw new Error("the ONNX encoder needs a little-endian platform");
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.values.length) {
    throw new RangeError(
      `tensor ${t.name}: dims ${t.dims} hold ${count} values, got ${t.values.length}`,
    );
  }
  let raw: Uint8Array;
  if (t.dataType === "float") raw = new Uint8Array(Float32Array.from(t.values).buffer);
  else if (t.dataType === "double") raw = new Uint8Array(Float64Array.from(t.values).buffer);
  else raw = new Uint8Array(BigInt64Array.from(Array.from(t.values, (v) => BigInt(v))).buffer);
  const w = new ProtoWriter();
  w.packedInt64(1, t.dims);
  w.int64(2, DATA_TYPE[t.dataType]);
  w.string(8, t.name);
  w.bytes(9, raw);
  return w.finish();
}

function encodeAttribute(a: AttributeSpec): Uint8Array {
  const w = new ProtoWriter();
  w.string(1, a.name);
  switch (a.type) {
    case "float":
      w.float(2, a.value);
      break;
    case "int":
      w.int64(3, a.value);
      break;
    case "string":
      w.string(4, a.value);
      break;
    case "tensor":
      w.bytes(5, encodeTensor(a.value));
      break;
    case "floats":
      w.packedFloat(7, a.value);
      break;
    case "ints":
      w.packedInt64(8, a.value);
      break;
    case "strings":
      for (const s of a.value) w.string(9, s);
      break;
  }
  w.int64(20, ATTR[a.type]);
  return w.finish();
}

function encodeNode(n: NodeSpec): Uint8Array {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.bytes(5, encodeAttribute(a));
  if (n.domain) w.string(7, n.domain);
  return w.finish();
}

function encodeValueInfo(v: ValueInfoSpec): Uint8Array {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === "number") dim.int64(1, d);
    else dim.string(2, d);
    shape.bytes(1, dim.finish());
  }
  const tensorType = new ProtoWriter();
  tensorType.int64(1, DATA_TYPE[v.elemType]);
  tensorType.bytes(2, shape.finish());
  const type = new ProtoWriter();
  type.bytes(1, tensorType.finish());
  const w = new ProtoWriter();
  w.string(1, v.name);
  w.bytes(2, type.finish());
  return w.finish();
}

/** GraphProto. Encoded on its own so its bytes can be hashed into the model's metadata. */
export function encodeGraph(g: GraphSpec): Uint8Array {
  const w = new ProtoWriter();
  for (const n of g.nodes) w.bytes(1, encodeNode(n));
  w.string(2, g.name);
  for (const t of g.initializers) w.bytes(5, encodeTensor(t));
  if (g.docString) w.string(10, g.docString);
  for (const i of g.inputs) w.bytes(11, encodeValueInfo(i));
  for (const o of g.outputs) w.bytes(12, encodeValueInfo(o));
  return w.finish();
}

/** ModelProto around an already encoded graph. */
export function encodeModel(m: ModelSpec, graph: Uint8Array): Uint8Array {
  const w = new ProtoWriter();
  w.int64(1, m.irVersion);
  w.string(2, m.producerName);
  w.string(3, m.producerVersion);
  if (m.modelVersion !== undefined) w.int64(5, m.modelVersion);
  if (m.docString) w.string(6, m.docString);
  w.bytes(7, graph);
  for (const o of m.opsets) {
    const op = new ProtoWriter();
    if (o.domain) op.string(1, o.domain);
    op.int64(2, o.version);
    w.bytes(8, op.finish());
  }
  for (const [key, value] of Object.entries(m.metadata)) {
    const entry = new ProtoWriter();
    entry.string(1, key);
    entry.string(2, value);
    w.bytes(14, entry.finish());
  }
  return w.finish();
}
