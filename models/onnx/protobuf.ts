/**
 * A minimal protobuf wire-format writer and reader: enough to encode the few ONNX messages this
 * project exports and to read a model's top-level fields back (its metadata is not exposed by
 * onnxruntime's JavaScript API).
 *
 * Hand-written rather than a generated library: ONNX export needs seven messages and a handful of
 * field types, the encoder is ~150 lines with no dependency, and the reader can report exactly
 * where a damaged file stops making sense.
 */

/** Wire types used here. */
export const WIRE = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

const encoder = new TextEncoder();

/** Appends fields to a growing buffer; `finish()` returns the message bytes. */
export class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;
  private readonly view4 = new DataView(new ArrayBuffer(8));

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** An unsigned varint; negative integers as 64-bit two's complement (10 bytes), as int64 is. */
  varint(value: number): void {
    if (!Number.isSafeInteger(value))
      throw new RangeError(`varint: ${value} is not a safe integer`);
    if (value < 0) {
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 0x80n) {
        this.byte(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.byte(Number(v));
      return;
    }
    let v = value;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  int64(field: number, value: number): void {
    this.tag(field, WIRE.varint);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, WIRE.fixed32);
    this.view4.setFloat32(0, value, true);
    this.raw(new Uint8Array(this.view4.buffer, 0, 4));
  }

  bytes(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE.bytes);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  string(field: number, value: string): void {
    this.bytes(field, encoder.encode(value));
  }

  /** Repeated varints, packed (parsers accept packed for any repeated scalar field). */
  packedInt64(field: number, values: ArrayLike<number>): void {
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.varint(values[i] as number);
    this.bytes(field, inner.finish());
  }

  /** Repeated float32, packed, little-endian. */
  packedFloat(field: number, values: ArrayLike<number>): void {
    const data = new Uint8Array(values.length * 4);
    const view = new DataView(data.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
    this.bytes(field, data);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** The bytes do not parse as protobuf; `offset` is where parsing failed. */
export class ProtoDecodeError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.offset = offset;
  }
}

/** Reads fields in order from `bytes`; error offsets are `base` + the position in `bytes`. */
export class ProtoReader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly base = 0,
  ) {}

  done(): boolean {
    return this.pos >= this.bytes.length;
  }

  private fail(message: string, at: number): never {
    throw new ProtoDecodeError(message, this.base + at);
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    const at = this.pos;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) this.fail("truncated varint", at);
      const b = this.bytes[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (!Number.isSafeInteger(result)) this.fail("varint too large", at);
        return result;
      }
      scale *= 128;
    }
    return this.fail("varint longer than 10 bytes", at);
  }

  /** The next field's number and wire type, and where it starts (absolute). */
  tag(): { field: number; wire: number; at: number } {
    const at = this.pos;
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) this.fail("field number 0", at);
    return { field, wire: key % 8, at: this.base + at };
  }

  /** A length-delimited field's content, as a reader over it (a view, not a copy). */
  message(): ProtoReader {
    const at = this.pos;
    const length = this.varint();
    if (this.pos + length > this.bytes.length) this.fail(`length ${length} runs past the end`, at);
    const inner = new ProtoReader(
      this.bytes.subarray(this.pos, this.pos + length),
      this.base + this.pos,
    );
    this.pos += length;
    return inner;
  }

  skip(wire: number): void {
    const at = this.pos;
    switch (wire) {
      case WIRE.varint:
        this.varint();
        return;
      case WIRE.fixed64:
        this.pos += 8;
        break;
      case WIRE.bytes:
        this.message();
        return;
      case WIRE.fixed32:
        this.pos += 4;
        break;
      default:
        this.fail(`unsupported wire type ${wire}`, at);
    }
    if (this.pos > this.bytes.length) this.fail("truncated fixed-width field", at);
  }
}
