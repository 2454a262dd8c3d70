#!/usr/bin/env node
// Container health check: asks a Trellis gRPC server for the standard grpc.health.v1 status.
//   node deploy/grpc-health.mjs [host:port] [service]      exit 0 when SERVING, 1 otherwise
// Kubernetes uses its native gRPC probe instead; this is for Docker / Compose.
import grpc from '@grpc/grpc-js';
import health from 'grpc-health-check';

const address = process.argv[2] ?? '127.0.0.1:50051';
const service = process.argv[3] ?? '';
const Health = grpc.makeClientConstructor(health.service, 'grpc.health.v1.Health');
const client = new Health(address, grpc.credentials.createInsecure());
client.Check({ service }, { deadline: Date.now() + 3000 }, (err, reply) => {
  client.close();
  if (err) {
    console.error(`${address}: ${err.message}`);
    process.exit(1);
  }
  console.log(`${address}: ${reply.status}`);
  process.exit(reply.status === 'SERVING' ? 0 : 1);
});
