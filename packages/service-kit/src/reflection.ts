import { loadSync, type MessageTypeDefinition, type PackageDefinition } from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { FileDescriptorProto } from 'ts-proto-descriptors';

/** The `protoMetadata` that ts-proto emits for every generated file (outputSchema=true). */
export interface ProtoFileMetadata {
  readonly fileDescriptor: FileDescriptorProto;
  readonly dependencies?: readonly ProtoFileMetadata[];
}

/**
 * What @grpc/reflection serves: it reads only `fileDescriptorProtos` from the
 * definitions it is given. We hand it the descriptors compiled into the
 * generated code, exactly as buf produced them. Going through proto-loader
 * instead would re-serialize them via protobufjs, which drops each file's
 * `dependency` list and the well-known types, so grpcurl could not resolve
 * google.protobuf.Timestamp or google.rpc.Status.
 */
export function reflectionPackageDefinition(files: readonly ProtoFileMetadata[]): PackageDefinition {
  const encoded = new Map<string, Buffer>();
  const visit = (file: ProtoFileMetadata) => {
    if (encoded.has(file.fileDescriptor.name)) return;
    for (const dependency of file.dependencies ?? []) visit(dependency);
    encoded.set(
      file.fileDescriptor.name,
      Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.fromPartial(file.fileDescriptor)).finish()),
    );
  };
  files.forEach(visit);
  // Only fileDescriptorProtos is read; this entry carries nothing else.
  const descriptors = { fileDescriptorProtos: [...encoded.values()] } as Partial<
    MessageTypeDefinition<object, object>
  > as MessageTypeDefinition<object, object>;
  return {
    // grpc.health.v1 imports nothing, so proto-loader's descriptors of it are complete.
    ...loadSync(healthProtoPath),
    'platform.descriptors': descriptors,
  };
}
