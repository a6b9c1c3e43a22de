import { isUtf8 } from 'node:buffer';
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, type DescriptorProto } from 'ts-proto-descriptors';
import type { ProtoFileMetadata } from './reflection';

/**
 * proto3 `string` fields must hold valid UTF-8, but the protobuf runtime
 * decodes invalid bytes to U+FFFD: two different byte strings would become
 * the same text (the same idempotency key, the same name). This reads a
 * request's wire bytes with its message descriptor and names the first
 * string field that is not UTF-8 (`items[2].sku`), before the request is
 * decoded. Anything else malformed is left to the decoder to report.
 */
export class Utf8Fields {
  readonly #messages = new Map<string, DescriptorProto>();
  readonly #inputs = new Map<string, DescriptorProto>();

  constructor(files: readonly ProtoFileMetadata[]) {
    const visit = (file: ProtoFileMetadata) => {
      const { fileDescriptor } = file;
      for (const message of fileDescriptor.messageType) this.#index(`.${fileDescriptor.package}`, message);
      file.dependencies?.forEach(visit);
    };
    files.forEach(visit);
    for (const { fileDescriptor } of files) {
      for (const service of fileDescriptor.service) {
        for (const method of service.method) {
          const input = this.#messages.get(method.inputType);
          if (input) this.#inputs.set(`/${fileDescriptor.package}.${service.name}/${method.name}`, input);
        }
      }
    }
  }

  /** The path of the first string field of a request to `methodPath` that is not UTF-8, if any. */
  invalidField(methodPath: string, bytes: Uint8Array): string | undefined {
    const input = this.#inputs.get(methodPath);
    return input && this.#firstInvalid(bytes, input, '', 0);
  }

  #index(scope: string, message: DescriptorProto): void {
    const name = `${scope}.${message.name}`;
    this.#messages.set(name, message);
    for (const nested of message.nestedType) this.#index(name, nested);
  }

  #firstInvalid(bytes: Uint8Array, message: DescriptorProto, prefix: string, depth: number): string | undefined {
    if (depth > 32) return undefined;
    const reader = new WireReader(bytes);
    const occurrences = new Map<number, number>();
    while (!reader.done) {
      const tag = reader.varint();
      if (tag === undefined) return undefined;
      const fieldNumber = Math.floor(tag / 8);
      const wireType = tag % 8;
      if (wireType !== LENGTH_DELIMITED) {
        if (!reader.skip(wireType)) return undefined;
        continue;
      }
      const value = reader.lengthDelimited();
      if (value === undefined) return undefined;
      const field = message.field.find((candidate) => candidate.number === fieldNumber);
      if (!field) continue;
      const index = occurrences.get(fieldNumber) ?? 0;
      occurrences.set(fieldNumber, index + 1);
      const path = `${prefix}${field.name}${field.label === FieldDescriptorProto_Label.LABEL_REPEATED ? `[${index}]` : ''}`;
      if (field.type === FieldDescriptorProto_Type.TYPE_STRING && !isUtf8(value)) return path;
      if (field.type === FieldDescriptorProto_Type.TYPE_MESSAGE) {
        const nested = this.#messages.get(field.typeName);
        const invalid = nested && this.#firstInvalid(value, nested, `${path}.`, depth + 1);
        if (invalid) return invalid;
      }
    }
    return undefined;
  }
}

const LENGTH_DELIMITED = 2;

/** Just enough of the protobuf wire format to find length-delimited fields; undefined on anything malformed. */
class WireReader {
  #position = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.#position >= this.bytes.length;
  }

  varint(): number | undefined {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.bytes[this.#position++];
      if (byte === undefined) return undefined;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    // Longer varints (64-bit values) are only skipped.
    while ((this.bytes[this.#position] ?? 0) >= 0x80) this.#position++;
    this.#position++;
    return this.#position <= this.bytes.length ? value : undefined;
  }

  lengthDelimited(): Uint8Array | undefined {
    const length = this.varint();
    if (length === undefined || this.#position + length > this.bytes.length) return undefined;
    const value = this.bytes.subarray(this.#position, this.#position + length);
    this.#position += length;
    return value;
  }

  /** Skips a value of this wire type (varint, 64-bit or 32-bit); false for groups and unknown types. */
  skip(wireType: number): boolean {
    if (wireType === 0) return this.varint() !== undefined;
    const width = wireType === 1 ? 8 : wireType === 5 ? 4 : undefined;
    if (width === undefined) return false;
    this.#position += width;
    return this.#position <= this.bytes.length;
  }
}
