/**
 * Reads a GraphProto's nodes (with their attributes) and initializers back into plain values: what
 * an explanation needs of a served model (its trees, or its weights), taken from the very bytes
 * onnxruntime runs rather than from a copy saved beside them.
 *
 * Covers the encodings ONNX allows for the fields this project writes (packed or unpacked
 * repeated fields; tensors as raw_data or as typed fields); anything else is skipped.
 */
import { DATA_TYPE } from "./onnx-proto.ts";
import { ProtoDecodeError, type ProtoReader, WIRE } from "./protobuf.ts";

export type AttributeValue = number | string | number[] | string[];

export interface GraphNode {
  opType: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Tensors are read as their values (float64). */
  attributes: Map<string, AttributeValue>;
}

export interface Graph {
  nodes: GraphNode[];
  /** Initializer values by name (float64). */
  initializers: Map<string, number[]>;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function text(r: ProtoReader): string {
  return decoder.decode(r.message().bytes);
}

/** A repeated varint field, packed (one length-delimited run) or not (one value per tag). */
function varints(r: ProtoReader, wire: number, into: number[]): void {
  if (wire !== WIRE.bytes) {
    into.push(r.varint());
    return;
  }
  const packed = r.message();
  while (!packed.done()) into.push(packed.varint());
}

/** A repeated fixed-width field of `width` bytes, packed or not. */
function fixed(r: ProtoReader, wire: number, width: 4 | 8, into: number[]): void {
  const read = (bytes: Uint8Array, at: number) => {
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, width);
    return width === 4 ? view.getFloat32(0, true) : view.getFloat64(0, true);
  };
  if (wire === WIRE.bytes) {
    const { bytes } = r.message();
    for (let at = 0; at + width <= bytes.length; at += width) into.push(read(bytes, at));
    return;
  }
  const at = r.pos;
  r.skip(wire);
  into.push(read(r.bytes, at));
}

function rawValues(raw: Uint8Array, dataType: number, where: number): number[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: number[] = [];
  if (dataType === DATA_TYPE.double) {
    for (let at = 0; at + 8 <= raw.length; at += 8) out.push(view.getFloat64(at, true));
  } else if (dataType === DATA_TYPE.float) {
    for (let at = 0; at + 4 <= raw.length; at += 4) out.push(view.getFloat32(at, true));
  } else if (dataType === DATA_TYPE.int64) {
    for (let at = 0; at + 8 <= raw.length; at += 8) out.push(Number(view.getBigInt64(at, true)));
  } else {
    throw new ProtoDecodeError(`tensor data type ${dataType} is not read here`, where);
  }
  return out;
}

/** TensorProto: its name and values. */
function readTensor(r: ProtoReader): { name: string; values: number[] } {
  let name = "";
  let dataType = 0;
  let raw: Uint8Array | null = null;
  const values: number[] = [];
  while (!r.done()) {
    const t = r.tag();
    if (t.field === 2 && t.wire === WIRE.varint) dataType = r.varint();
    else if (t.field === 4) fixed(r, t.wire, 4, values);
    else if (t.field === 7) varints(r, t.wire, values);
    else if (t.field === 8 && t.wire === WIRE.bytes) name = text(r);
    else if (t.field === 9 && t.wire === WIRE.bytes) raw = r.message().bytes;
    else if (t.field === 10) fixed(r, t.wire, 8, values);
    else r.skip(t.wire);
  }
  return { name, values: raw ? rawValues(raw, dataType, r.base) : values };
}

function readAttribute(r: ProtoReader): [string, AttributeValue] {
  let name = "";
  let value: AttributeValue | undefined;
  const numbers: number[] = [];
  const strings: string[] = [];
  while (!r.done()) {
    const t = r.tag();
    if (t.field === 1 && t.wire === WIRE.bytes) name = text(r);
    else if (t.field === 2 && t.wire === WIRE.fixed32) {
      const list: number[] = [];
      fixed(r, t.wire, 4, list);
      value = list[0];
    } else if (t.field === 3 && t.wire === WIRE.varint) value = r.varint();
    else if (t.field === 4 && t.wire === WIRE.bytes) value = text(r);
    else if (t.field === 5 && t.wire === WIRE.bytes) value = readTensor(r.message()).values;
    else if (t.field === 7) fixed(r, t.wire, 4, numbers);
    else if (t.field === 8) varints(r, t.wire, numbers);
    else if (t.field === 9 && t.wire === WIRE.bytes) strings.push(text(r));
    else r.skip(t.wire);
  }
  return [name, value ?? (strings.length > 0 ? strings : numbers)];
}

function readNode(r: ProtoReader): GraphNode {
  const node: GraphNode = {
    opType: "",
    domain: "",
    name: "",
    inputs: [],
    outputs: [],
    attributes: new Map(),
  };
  while (!r.done()) {
    const t = r.tag();
    if (t.wire !== WIRE.bytes) r.skip(t.wire);
    else if (t.field === 1) node.inputs.push(text(r));
    else if (t.field === 2) node.outputs.push(text(r));
    else if (t.field === 3) node.name = text(r);
    else if (t.field === 4) node.opType = text(r);
    else if (t.field === 5) node.attributes.set(...readAttribute(r.message()));
    else if (t.field === 7) node.domain = text(r);
    else r.skip(t.wire);
  }
  return node;
}

/** Reads a serialised GraphProto (ModelInfo.graph). Throws ProtoDecodeError on malformed bytes. */
export function readGraph(graph: ProtoReader): Graph {
  const out: Graph = { nodes: [], initializers: new Map() };
  while (!graph.done()) {
    const t = graph.tag();
    if (t.field === 1 && t.wire === WIRE.bytes) out.nodes.push(readNode(graph.message()));
    else if (t.field === 5 && t.wire === WIRE.bytes) {
      const tensor = readTensor(graph.message());
      out.initializers.set(tensor.name, tensor.values);
    } else graph.skip(t.wire);
  }
  return out;
}
