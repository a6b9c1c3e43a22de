import { isUtf8 } from 'node:buffer';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  type DescriptorProto,
  type FieldDescriptorProto,
} from 'ts-proto-descriptors';
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
    const reader = new BinaryReader(bytes);
    const occurrences = new Map<number, number>();
    try {
      while (reader.pos < reader.len) {
        const [fieldNumber, wireType] = reader.tag();
        // Groups are left to the decoder, which bounds their nesting.
        if (wireType === WireType.StartGroup || wireType === WireType.EndGroup) return undefined;
        if (wireType !== WireType.LengthDelimited) {
          reader.skip(wireType);
          continue;
        }
        const value = reader.bytes();
        const field = message.field.find((candidate) => candidate.number === fieldNumber);
        if (!field) continue;
        const index = occurrences.get(fieldNumber) ?? 0;
        occurrences.set(fieldNumber, index + 1);
        if (field.type === FieldDescriptorProto_Type.TYPE_STRING && !isUtf8(value)) return pathOf(prefix, field, index);
        if (field.type === FieldDescriptorProto_Type.TYPE_MESSAGE) {
          const nested = this.#messages.get(field.typeName);
          const invalid = nested && this.#firstInvalid(value, nested, `${pathOf(prefix, field, index)}.`, depth + 1);
          if (invalid) return invalid;
        }
      }
    } catch {
      // Malformed bytes: the decoder reports them.
      return undefined;
    }
    return undefined;
  }
}

/** `items[2].sku`, as field violations name fields. */
function pathOf(prefix: string, field: FieldDescriptorProto, index: number): string {
  return `${prefix}${field.name}${field.label === FieldDescriptorProto_Label.LABEL_REPEATED ? `[${index}]` : ''}`;
}
