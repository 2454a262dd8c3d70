/**
 * Plain gRPC clients of the two services every coordinator serves besides its own: server
 * reflection (grpcurl's `list`) and health, loaded from their .proto files with proto-loader,
 * without grpcurl. Each call has a 20 s deadline.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { within } from './deadline.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

type Ctor = new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;

function load(file: string, dir: string): Record<string, unknown> {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, { keepCase: true, enums: String, includeDirs: [dir] }));
}

interface ListServicesResponse {
  list_services_response?: { service: { name: string }[] };
}

/** The services reflection lists, asked with `token` (or none); rejects with the call's status. */
export async function reflectionServices(address: string, token?: string): Promise<string[]> {
  const pkg = load('grpc/reflection/v1/reflection.proto', join(ROOT, 'node_modules/@grpc/reflection/build/proto'));
  const Reflection = (pkg.grpc as { reflection: { v1: { ServerReflection: Ctor } } }).reflection.v1.ServerReflection;
  const client = new Reflection(address, grpc.credentials.createInsecure()) as grpc.Client & {
    ServerReflectionInfo(metadata: grpc.Metadata): grpc.ClientDuplexStream<object, ListServicesResponse>;
  };
  try {
    return await within(
      new Promise<string[]>((resolve, reject) => {
        const metadata = new grpc.Metadata();
        if (token) metadata.set('authorization', `Bearer ${token}`);
        const stream = client.ServerReflectionInfo(metadata);
        stream.on('data', (response: ListServicesResponse) => {
          resolve((response.list_services_response?.service ?? []).map((s) => s.name));
          stream.end();
        });
        stream.on('error', reject);
        stream.write({ list_services: '' });
      }),
      20_000,
      'a reflection answer',
    );
  } finally {
    client.close();
  }
}

/** The overall health status (`SERVING`...), asked without a token. */
export async function healthStatus(address: string): Promise<string> {
  const pkg = load('grpc/health/v1/health.proto', join(ROOT, 'proto'));
  const Health = (pkg.grpc as { health: { v1: { Health: Ctor } } }).health.v1.Health;
  const client = new Health(address, grpc.credentials.createInsecure()) as grpc.Client & {
    Check(request: object, callback: (err: Error | null, value: { status: string }) => void): void;
  };
  try {
    return await within(
      new Promise<string>((resolve, reject) =>
        client.Check({ service: '' }, (err, value) => (err ? reject(err) : resolve(value.status))),
      ),
      20_000,
      'a health answer',
    );
  } finally {
    client.close();
  }
}
