/**
 * Server reflection from proto/descriptor.binpb, the FileDescriptorSet that scripts/gen-proto.sh
 * builds with buf. The descriptors proto-loader derives at run time name map entries wrongly
 * (`Metrics`, not `MetricsEntry`), which grpcurl and Postman reject; buf's are what protoc makes,
 * and the set also carries grpc.health.v1 and google.protobuf.Struct so every service and type
 * the server speaks can be described.
 *
 * Reflection answers only callers the auth gate admits (`admit`, given when tokens are
 * configured): it describes the API, and an unauthenticated caller gets UNAUTHENTICATED like on
 * every other service. Health stays open.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { toGrpcError } from '../shared/errors.js';
import { ReflectionService } from '@grpc/reflection';
import { projectRoot } from '../shared/paths.js';

export const DESCRIPTOR_SET = join(projectRoot(), 'proto', 'descriptor.binpb');

function varint(buf: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < buf.length; i++) {
    const byte = buf[i]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, i + 1];
  }
  throw new Error(`${DESCRIPTOR_SET}: truncated varint at byte ${at}`);
}

/** The encoded FileDescriptorProtos of a FileDescriptorSet (its only field: `repeated file = 1`). */
export function splitDescriptorSet(set: Uint8Array): Buffer[] {
  const files: Buffer[] = [];
  let at = 0;
  while (at < set.length) {
    const [tag, afterTag] = varint(set, at);
    if (tag !== ((1 << 3) | 2)) throw new Error(`${DESCRIPTOR_SET}: unexpected field tag ${tag} at byte ${at}`);
    const [length, start] = varint(set, afterTag);
    files.push(Buffer.from(set.subarray(start, start + length)));
    at = start + length;
  }
  return files;
}

/** The policy table's name of the reflection method (both reflection versions). */
export const REFLECTION_METHOD = 'ServerReflection.ServerReflectionInfo';

/**
 * Adds reflection (v1 and v1alpha). `admit` throws (UnauthenticatedError...) for a caller that
 * may not use it; the stream then ends with that status before any answer.
 */
export function addReflection(server: grpc.Server, admit?: (metadata: grpc.Metadata) => void): void {
  const files = splitDescriptorSet(readFileSync(DESCRIPTOR_SET));
  // @grpc/reflection reads `fileDescriptorProtos` off each entry of a package definition.
  const definition = { descriptors: { fileDescriptorProtos: files } };
  // The library adds its services itself: hand it a server whose addService puts the gate in front.
  const guarded = {
    addService(
      service: grpc.ServiceDefinition,
      handlers: Record<string, grpc.handleBidiStreamingCall<unknown, unknown>>,
    ) {
      const wrapped: Record<string, grpc.handleBidiStreamingCall<unknown, unknown>> = {};
      for (const [name, handler] of Object.entries(handlers)) {
        wrapped[name] = (call) => {
          try {
            admit?.(call.metadata);
          } catch (err) {
            call.emit('error', toGrpcError(err));
            return;
          }
          handler(call);
        };
      }
      server.addService(service, wrapped as grpc.UntypedServiceImplementation);
    },
  };
  new ReflectionService(definition as unknown as ConstructorParameters<typeof ReflectionService>[0]).addToServer(
    guarded as unknown as grpc.Server,
  );
}
