import path from 'node:path';
import { credentials, loadPackageDefinition, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { FileDescriptorProto, type DescriptorProto } from 'ts-proto-descriptors';

interface ReflectionResponse {
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  listServicesResponse?: { service: { name: string }[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

type ReflectionClient = Client & {
  serverReflectionInfo(): ClientDuplexStream<Record<string, string>, ReflectionResponse>;
};

/**
 * Asks a server what grpcurl asks it: the services it lists, and the
 * descriptors of a service's file and of every file that one imports.
 */
export class ReflectionProbe {
  private readonly client: ReflectionClient;

  constructor(address: string) {
    const protoPath = path.join(
      path.dirname(require.resolve('@grpc/reflection/package.json')),
      'build/proto/grpc/reflection/v1/reflection.proto',
    );
    const loaded = loadPackageDefinition(loadSync(protoPath)) as unknown as {
      grpc: {
        reflection: {
          v1: { ServerReflection: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => ReflectionClient };
        };
      };
    };
    this.client = new loaded.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
  }

  async listServices(): Promise<string[]> {
    const response = await this.ask({ listServices: '' });
    return (response.listServicesResponse?.service ?? []).map((service) => service.name);
  }

  /** Every file needed to describe `symbol`, by name; fails if any import cannot be resolved. */
  async resolveSymbol(symbol: string): Promise<Map<string, FileDescriptorProto>> {
    const files = new Map<string, FileDescriptorProto>();
    const absorb = (response: ReflectionResponse, asked: string) => {
      if (response.errorResponse) throw new Error(`reflection could not resolve ${asked}: ${response.errorResponse.errorMessage}`);
      for (const bytes of response.fileDescriptorResponse?.fileDescriptorProto ?? []) {
        const file = FileDescriptorProto.decode(bytes);
        files.set(file.name, file);
      }
    };
    absorb(await this.ask({ fileContainingSymbol: symbol }), symbol);
    for (let missing = this.missing(files); missing.length > 0; missing = this.missing(files)) {
      for (const name of missing) {
        const before = files.size;
        absorb(await this.ask({ fileByFilename: name }), name);
        if (!files.has(name) || files.size === before) throw new Error(`reflection did not return ${name}`);
      }
    }
    assertLinkable(files);
    return files;
  }

  close(): void {
    this.client.close();
  }

  private missing(files: Map<string, FileDescriptorProto>): string[] {
    return [...new Set([...files.values()].flatMap((file) => file.dependency))].filter((name) => !files.has(name));
  }

  private ask(request: Record<string, string>): Promise<ReflectionResponse> {
    return new Promise((resolve, reject) => {
      const stream = this.client.serverReflectionInfo();
      stream.once('data', (response: ReflectionResponse) => {
        resolve(response);
        stream.end();
      });
      stream.once('error', reject);
      stream.write(request);
    });
  }
}

/**
 * What grpcurl does next: link each file against the files it imports. A type
 * a file refers to must be defined in that file or in one it declares as a
 * dependency, or grpcurl fails with "cannot resolve type".
 */
function assertLinkable(files: Map<string, FileDescriptorProto>): void {
  const definedIn = new Map<string, Set<string>>();
  const referencedBy = new Map<string, string[]>();
  const visitMessage = (scope: string, message: DescriptorProto, defined: Set<string>, referenced: string[]) => {
    const name = `${scope}.${message.name}`;
    defined.add(name);
    message.enumType.forEach((enumType) => defined.add(`${name}.${enumType.name}`));
    message.field.filter((field) => field.typeName).forEach((field) => referenced.push(field.typeName));
    message.nestedType.forEach((nested) => visitMessage(name, nested, defined, referenced));
  };
  for (const file of files.values()) {
    const scope = file.package ? `.${file.package}` : '';
    const defined = new Set<string>();
    const referenced: string[] = [];
    file.messageType.forEach((message) => visitMessage(scope, message, defined, referenced));
    file.enumType.forEach((enumType) => defined.add(`${scope}.${enumType.name}`));
    file.service.flatMap((service) => service.method).forEach((method) => referenced.push(method.inputType, method.outputType));
    definedIn.set(file.name, defined);
    referencedBy.set(file.name, referenced);
  }
  const unresolved: string[] = [];
  for (const file of files.values()) {
    const visible = [file.name, ...file.dependency].map((name) => definedIn.get(name) ?? new Set<string>());
    for (const typeName of referencedBy.get(file.name) ?? []) {
      if (!visible.some((defined) => defined.has(typeName))) unresolved.push(`${typeName} in ${file.name}`);
    }
  }
  if (unresolved.length > 0) throw new Error(`unresolvable types: ${unresolved.join(', ')}`);
}
