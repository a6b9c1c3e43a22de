import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import {
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  type DescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from 'ts-proto-descriptors';
import type { RawMethod } from './raw';

/** The part of ts-proto's generated `protoMetadata` the fuzzer reads. */
export interface ProtoMetadataLike {
  fileDescriptor: FileDescriptorProto;
  dependencies?: ProtoMetadataLike[];
}

/** One method to fuzz, with the descriptor of its request message. */
export interface FuzzTarget extends RawMethod {
  readonly input: DescriptorProto;
}

/** What a case is made of; counted per kind in the test's report. */
export type FuzzKind =
  | 'random-bytes'
  | 'empty'
  | 'valid'
  | 'example-edited'
  | 'truncated'
  | 'mutated'
  | 'huge-string'
  | 'deep-nesting'
  | 'deep-groups'
  | 'many-repeated'
  | 'invalid-utf8'
  | 'wrong-wire-type'
  | 'bad-varint';

export interface FuzzCase {
  readonly kind: FuzzKind;
  /** The request messages of the call: one for unary and server-streaming methods. */
  readonly frames: Buffer[];
}

/** Every message of the files and their dependencies, by full name ('.order.v1.OrderItem'). */
function messageIndex(metadata: readonly ProtoMetadataLike[]): Map<string, DescriptorProto> {
  const messages = new Map<string, DescriptorProto>();
  const collect = (meta: ProtoMetadataLike) => {
    for (const message of meta.fileDescriptor.messageType) messages.set(`.${meta.fileDescriptor.package}.${message.name}`, message);
    meta.dependencies?.forEach(collect);
  };
  metadata.forEach(collect);
  return messages;
}

/** Every method of every service in the file, with its request descriptor. */
export function fuzzTargets(metadata: ProtoMetadataLike): FuzzTarget[] {
  const messages = messageIndex([metadata]);
  const { fileDescriptor: file } = metadata;
  return file.service.flatMap((service) =>
    service.method.map((method) => {
      const input = messages.get(method.inputType);
      if (!input) throw new Error(`no descriptor for ${method.inputType}`);
      return {
        path: `/${file.package}.${service.name}/${method.name}`,
        requestStream: method.clientStreaming,
        responseStream: method.serverStreaming,
        input,
      };
    }),
  );
}

/** Byte sequences that are not UTF-8: a stray continuation byte, overlong forms, a surrogate, beyond U+10FFFF, a cut sequence. */
const INVALID_UTF8 = [[0x80], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff, 0xfe], [0xe2, 0x82]];
/** Strings that validators and databases trip over. */
const AWKWARD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uffff',
  '\ud800',
  '💥'.repeat(3),
  "'; DROP TABLE users; --",
  '%s%n',
  '../../etc/passwd',
  'EUR',
  'BOOK-42',
  '00000000-0000-0000-0000-000000000000',
];
const EDGE_INTEGERS = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 32 - 1, 1000, 1001, 100_000_000];
const EDGE_BIGINTS = [0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 100_000_001n];

/**
 * Makes requests no correct client would send, for one method at a time, from
 * a seed: the same seed gives the same cases. Each case is one of FuzzKind:
 * random bytes, cut or flipped valid messages, huge strings (under
 * `maxMessageBytes`), deep nesting of embedded messages and groups, many
 * repeated elements, invalid UTF-8 in string fields, known fields with the
 * wrong wire type, and over-long varints.
 */
export class RequestFuzzer {
  readonly #generator: ReturnType<typeof xoroshiro128plus>;
  readonly #maxMessageBytes: number;
  readonly #messages: ReadonlyMap<string, DescriptorProto>;
  readonly #examples: ReadonlyMap<string, readonly Uint8Array[]>;

  /**
   * `examples` are well-formed requests by method path (ids that exist, valid
   * emails ...): cases built on them get past validation to the handlers and
   * the database, which random values seldom do.
   */
  constructor(options: {
    seed: number;
    maxMessageBytes: number;
    metadata: readonly ProtoMetadataLike[];
    examples?: ReadonlyMap<string, readonly Uint8Array[]>;
  }) {
    this.#generator = xoroshiro128plus(options.seed);
    this.#maxMessageBytes = options.maxMessageBytes;
    this.#messages = messageIndex(options.metadata);
    this.#examples = options.examples ?? new Map();
  }

  /** The next case for a method; streaming requests get one to four frames, mixing valid and broken ones. */
  next(target: FuzzTarget): FuzzCase {
    const first = this.#message(target);
    if (!target.requestStream) return { kind: first.kind, frames: [first.bytes] };
    const frames = [first.bytes];
    for (let extra = this.#int(0, 3); extra > 0; extra -= 1)
      frames.splice(this.#int(0, frames.length), 0, this.#chance(0.5) ? Buffer.from(this.#base(target)) : this.#message(target).bytes);
    return { kind: first.kind, frames };
  }

  #message(target: FuzzTarget): { kind: FuzzKind; bytes: Buffer } {
    const kind = this.#pick<FuzzKind>([
      'random-bytes',
      'random-bytes',
      'empty',
      'valid',
      'example-edited',
      'example-edited',
      'truncated',
      'mutated',
      'mutated',
      'deep-nesting',
      'deep-groups',
      'many-repeated',
      'invalid-utf8',
      'invalid-utf8',
      'wrong-wire-type',
      'wrong-wire-type',
      'bad-varint',
      // Rare: each costs megabytes on the wire.
      ...(this.#chance(0.1) ? (['huge-string'] as const) : []),
    ]);
    return { kind, bytes: Buffer.from(this.#make(kind, target)) };
  }

  /** A well-formed request: one of the method's examples, or else random values. */
  #base(target: FuzzTarget): Uint8Array {
    const examples = this.#examples.get(target.path) ?? [];
    return examples.length > 0 && this.#chance(0.7) ? this.#pick(examples) : this.#valid(target.input, 1);
  }

  #make(kind: FuzzKind, target: FuzzTarget): Uint8Array {
    const message = target.input;
    switch (kind) {
      case 'random-bytes':
        return this.#bytes(this.#int(1, 512));
      case 'empty':
        return new Uint8Array();
      case 'valid':
        return this.#valid(message);
      case 'example-edited': {
        // A field written again wins over (or, when repeated, adds to) the example's: one awkward value in an otherwise good request.
        const field = this.#pickField(message, () => true);
        return concat(this.#base(target), field ? this.#fieldBytes(field, 1) : new Uint8Array());
      }
      case 'truncated': {
        const valid = this.#base(target);
        return valid.subarray(0, this.#int(0, Math.max(0, valid.length - 1)));
      }
      case 'mutated': {
        const bytes = Uint8Array.from(this.#base(target));
        for (let flips = this.#int(1, 4); flips > 0 && bytes.length > 0; flips -= 1)
          bytes[this.#int(0, bytes.length - 1)] = this.#int(0, 255);
        return bytes;
      }
      case 'huge-string': {
        const field = this.#pickField(message, (f) => f.type === Type.TYPE_STRING) ?? message.field[0];
        const length = this.#int(64 * 1024, this.#maxMessageBytes - 64 * 1024);
        return new BinaryWriter()
          .tag(field?.number ?? 1, WireType.LengthDelimited)
          .string(this.#pick(['x', 'é', '\u0000']).repeat(Math.floor(length / 2)))
          .finish();
      }
      case 'deep-nesting': {
        // An embedded message field nested in itself: the decoder reads the
        // outer level and skips or misreads the rest, however deep.
        const field = this.#pickField(message, (f) => f.type === Type.TYPE_MESSAGE) ?? this.#pickField(message, () => true);
        let bytes: Uint8Array = this.#base(target);
        for (let depth = this.#pick([10, 100, 1000, 10_000]); depth > 0 && bytes.length < this.#maxMessageBytes / 2; depth -= 1) {
          bytes = new BinaryWriter()
            .tag(field?.number ?? 1, WireType.LengthDelimited)
            .bytes(bytes)
            .finish();
        }
        return bytes;
      }
      case 'deep-groups': {
        // Unknown groups must be skipped by recursion, which a deep enough nest would exhaust.
        const depth = this.#pick([100, 10_000, 100_000]);
        const writer = new BinaryWriter();
        for (let level = 0; level < depth; level += 1) writer.tag(99, WireType.StartGroup);
        for (let level = 0; level < depth; level += 1) writer.tag(99, WireType.EndGroup);
        return writer.finish();
      }
      case 'many-repeated': {
        const field = this.#pickField(message, (f) => f.label === Label.LABEL_REPEATED) ?? this.#pickField(message, () => true);
        const element = field ? this.#fieldBytes(field, 1) : new Uint8Array();
        const writer = new BinaryWriter();
        for (
          let count = Math.min(this.#pick([1000, 50_000]), Math.floor(this.#maxMessageBytes / 2 / (element.length + 1)));
          count > 0;
          count -= 1
        )
          writer.raw(element);
        return writer.finish();
      }
      case 'invalid-utf8': {
        const field = this.#pickField(message, (f) => f.type === Type.TYPE_STRING) ?? message.field[0];
        const garbage = [...this.#bytes(this.#int(0, 8)), ...this.#pick(INVALID_UTF8), ...this.#bytes(this.#int(0, 8))];
        return concat(
          this.#base(target),
          new BinaryWriter()
            .tag(field?.number ?? 1, WireType.LengthDelimited)
            .bytes(Uint8Array.from(garbage))
            .finish(),
        );
      }
      case 'wrong-wire-type': {
        const field = this.#pickField(message, () => true);
        const right = field ? wireTypeOf(field) : WireType.Varint;
        const wrong = this.#pick([0, 1, 2, 3, 4, 5, 6, 7].filter((type) => type !== right));
        const writer = new BinaryWriter().raw(this.#base(target));
        // Tag by hand: wire types 6 and 7 do not exist, and BinaryWriter would not write them.
        writer.uint32(((field?.number ?? 1) << 3) | wrong);
        if (wrong === WireType.Varint) writer.uint64(this.#pick(EDGE_BIGINTS) & (2n ** 64n - 1n));
        else if (wrong === WireType.Bit64) writer.fixed64(this.#int(0, 2 ** 31));
        else if (wrong === WireType.LengthDelimited) writer.bytes(this.#bytes(this.#int(0, 16)));
        else if (wrong === WireType.Bit32) writer.fixed32(this.#int(0, 2 ** 31));
        else writer.raw(this.#bytes(this.#int(0, 8)));
        return writer.finish();
      }
      case 'bad-varint':
        // Eleven continuation bytes: longer than any varint may be.
        return concat(Uint8Array.of(0x08), new Uint8Array(11).fill(0xff), this.#bytes(this.#int(0, 4)));
    }
  }

  /** A message the decoder accepts, with random and edge values, nested at most `depth` more levels. */
  #valid(message: DescriptorProto, depth = 2): Uint8Array {
    const writer = new BinaryWriter();
    for (const field of message.field) {
      if (this.#chance(0.2)) continue;
      const count = field.label === Label.LABEL_REPEATED ? this.#int(0, 4) : 1;
      for (let index = 0; index < count; index += 1) writer.raw(this.#fieldBytes(field, depth));
    }
    return writer.finish();
  }

  /** One field with its tag and a value of its own type. */
  #fieldBytes(field: FieldDescriptorProto, depth: number): Uint8Array {
    const writer = new BinaryWriter().tag(field.number, wireTypeOf(field));
    switch (field.type) {
      case Type.TYPE_STRING:
        writer.string(this.#chance(0.5) ? this.#pick(AWKWARD_STRINGS) : this.#text());
        break;
      case Type.TYPE_BYTES:
        writer.bytes(this.#bytes(this.#int(0, 32)));
        break;
      case Type.TYPE_MESSAGE: {
        const nested = this.#messages.get(field.typeName);
        writer.bytes(nested && depth > 0 ? this.#valid(nested, depth - 1) : new Uint8Array());
        break;
      }
      case Type.TYPE_INT64:
      case Type.TYPE_SINT64:
      case Type.TYPE_SFIXED64:
        writer[field.type === Type.TYPE_INT64 ? 'int64' : field.type === Type.TYPE_SINT64 ? 'sint64' : 'sfixed64'](
          this.#chance(0.5) ? this.#pick(EDGE_BIGINTS) : BigInt(this.#int(-1000, 200_000_000)),
        );
        break;
      case Type.TYPE_UINT64:
      case Type.TYPE_FIXED64:
        writer[field.type === Type.TYPE_UINT64 ? 'uint64' : 'fixed64'](BigInt(this.#int(0, 2 ** 31)));
        break;
      case Type.TYPE_DOUBLE:
        writer.double(this.#pick([0, -0, Number.NaN, Infinity, 1e308, -1.5]));
        break;
      case Type.TYPE_FLOAT:
        writer.float(this.#pick([0, Number.NaN, -Infinity, 3.5]));
        break;
      case Type.TYPE_FIXED32:
      case Type.TYPE_UINT32:
        writer[field.type === Type.TYPE_FIXED32 ? 'fixed32' : 'uint32'](this.#int(0, 2 ** 32 - 1));
        break;
      case Type.TYPE_BOOL:
        writer.bool(this.#chance(0.5));
        break;
      default:
        // int32, sint32, sfixed32 and enums: edge values and unknown enum numbers alike.
        writer[field.type === Type.TYPE_SINT32 ? 'sint32' : field.type === Type.TYPE_SFIXED32 ? 'sfixed32' : 'int32'](
          this.#chance(0.5) ? this.#pick(EDGE_INTEGERS) | 0 : this.#int(-5, 2000),
        );
    }
    return writer.finish();
  }

  #pickField(message: DescriptorProto, accept: (field: FieldDescriptorProto) => boolean): FieldDescriptorProto | undefined {
    const fields = message.field.filter(accept);
    return fields.length === 0 ? undefined : this.#pick(fields);
  }

  /** Mostly printable text, sometimes any code point (lone surrogates included, which encode as U+FFFD). */
  #text(): string {
    const length = this.#int(0, 80);
    return String.fromCodePoint(...Array.from({ length }, () => (this.#chance(0.8) ? this.#int(0x20, 0x7e) : this.#int(0, 0x10ffff))));
  }

  #bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, () => this.#int(0, 255));
  }

  #int(min: number, max: number): number {
    return uniformInt(this.#generator, min, max);
  }

  #chance(probability: number): boolean {
    return this.#int(0, 999_999) < probability * 1_000_000;
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#int(0, items.length - 1)]!;
  }
}

function wireTypeOf(field: FieldDescriptorProto): WireType {
  switch (field.type) {
    case Type.TYPE_STRING:
    case Type.TYPE_BYTES:
    case Type.TYPE_MESSAGE:
      return WireType.LengthDelimited;
    case Type.TYPE_DOUBLE:
    case Type.TYPE_FIXED64:
    case Type.TYPE_SFIXED64:
      return WireType.Bit64;
    case Type.TYPE_FLOAT:
    case Type.TYPE_FIXED32:
    case Type.TYPE_SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}
