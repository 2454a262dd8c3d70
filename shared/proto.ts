/** Loads proto/trellis/v1 at run time with the same options the generated types were made with. */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join } from 'node:path';
import { projectRoot } from './paths.js';
import type { ProtoGrpcType as ExperimentProto } from './generated/experiment.js';
import type { ProtoGrpcType as WorkerProto } from './generated/worker.js';

export const PROTO_FILES = ['trellis/v1/common.proto', 'trellis/v1/experiment.proto', 'trellis/v1/worker.proto'];

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

let loaded: { definition: protoLoader.PackageDefinition; proto: ExperimentProto & WorkerProto } | undefined;

export function loadProto(): { definition: protoLoader.PackageDefinition; proto: ExperimentProto & WorkerProto } {
  if (loaded) return loaded;
  const definition = protoLoader.loadSync(PROTO_FILES, {
    ...LOADER_OPTIONS,
    includeDirs: [join(projectRoot(), 'proto')],
  });
  const proto = grpc.loadPackageDefinition(definition) as unknown as ExperimentProto & WorkerProto;
  loaded = { definition, proto };
  return loaded;
}

export type { ExperimentServiceClient, ExperimentServiceHandlers } from './generated/trellis/v1/ExperimentService.js';
export type { WorkerServiceClient, WorkerServiceHandlers } from './generated/trellis/v1/WorkerService.js';
