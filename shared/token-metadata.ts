/**
 * The client half of authentication: every call of a client or worker carries its token as
 * `authorization: Bearer <token>` metadata (coordinator/auth/guard.ts reads it). A client-side
 * interceptor rather than call credentials, because grpc-js attaches call credentials only to
 * TLS channels.
 */
import * as grpc from '@grpc/grpc-js';

export function tokenInterceptors(token: string | undefined): grpc.Interceptor[] {
  if (!token) return [];
  const header = `Bearer ${token}`;
  return [
    (options, nextCall) =>
      new grpc.InterceptingCall(nextCall(options), {
        start(metadata, listener, next) {
          metadata.set('authorization', header);
          next(metadata, listener);
        },
      }),
  ];
}
