/**
 * Who may read which artifact, and which artifacts a spec may name.
 *
 * - A worker reads an artifact only for one of its attempts: the attempt must be bound to the
 *   caller's identity, shown with its attempt token, and need the artifact (an input the
 *   coordinator resolved into its config, or the checkpoint it resumes from: the lease's
 *   `artifacts`). A worker writes artifacts only for such an attempt.
 * - A client (no attempt named) reads an artifact of an experiment it may change: admins any,
 *   submitters their own experiments'; other roles none.
 * - A submitted spec may name (`{"$artifact": id}`) only artifacts of the submitter's own
 *   experiments (admins any); PERMISSION_DENIED names the field.
 */
import { NotFoundError, PermissionDeniedError } from '../../shared/errors.js';
import { isArtifactRef } from '../../shared/artifact-refs.js';
import type { ArtifactMeta, ExperimentDoc } from '../../shared/types.js';
import type { LeaseTable, Lease } from '../dispatch/leases.js';
import type { Identity } from './policy.js';

export interface ArtifactLookup {
  getArtifact(id: string): Promise<{ meta: ArtifactMeta; data: Buffer } | undefined>;
  getExperiment(id: string): Promise<ExperimentDoc | undefined>;
}

/** The lease of `attemptId` if `who` holds it with `token`; PERMISSION_DENIED otherwise (no hint which part failed). */
export function attemptOfCaller(
  leases: LeaseTable,
  who: Identity,
  attemptId: string,
  token: string | undefined,
): Lease {
  const lease = leases.get(attemptId);
  if (!lease || !leases.verify(attemptId, who.name, token)) {
    throw new PermissionDeniedError(
      `attempt ${attemptId}: no running attempt is bound to worker identity ${who.name} with that attempt token`,
    );
  }
  return lease;
}

/** Every `{"$artifact": id}` in `value`, with the path of the field that holds it. */
export function artifactRefsWithPaths(value: unknown, path = ''): { path: string; id: string }[] {
  if (isArtifactRef(value)) return [{ path: path || '(document)', id: value.$artifact }];
  if (Array.isArray(value)) return value.flatMap((v, i) => artifactRefsWithPaths(v, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => artifactRefsWithPaths(v, path ? `${path}.${k}` : k));
  }
  return [];
}

/** The owner of the experiment an artifact belongs to (undefined: none recorded). */
async function ownerOfArtifact(store: ArtifactLookup, meta: ArtifactMeta): Promise<string | undefined> {
  return (await store.getExperiment(meta.experimentId))?.owner;
}

/** Refuses a spec that names an artifact of someone else's experiment (or one that does not exist). */
export async function assertRefsOwned(store: ArtifactLookup, who: Identity, spec: unknown): Promise<void> {
  if (who.role === 'admin') return;
  for (const { path, id } of artifactRefsWithPaths(spec)) {
    const artifact = await store.getArtifact(id);
    const owner = artifact ? await ownerOfArtifact(store, artifact.meta) : undefined;
    if (!artifact || owner !== who.name) {
      // The same words whether it exists or not: a submitter learns nothing about others' ids.
      throw new PermissionDeniedError(
        `${path}: {"$artifact": ${JSON.stringify(id)}} is not an artifact of an experiment ${who.name} owns; a spec may reference only its submitter's artifacts`,
      );
    }
  }
}

/**
 * A client's read of an artifact (no attempt named): admins any (NOT_FOUND when missing),
 * submitters their own experiments'. To others a missing artifact reads like someone else's.
 */
export async function assertClientMayRead(
  store: ArtifactLookup,
  who: Identity,
  id: string,
  meta: ArtifactMeta | undefined,
): Promise<void> {
  if (who.role === 'admin') {
    if (!meta) throw notFound(id);
    return;
  }
  if (meta && who.role === 'submitter' && (await ownerOfArtifact(store, meta)) === who.name) return;
  throw new PermissionDeniedError(
    who.role === 'worker'
      ? `artifact ${id}: a worker reads artifacts only for an attempt it runs (attempt_id and attempt_token)`
      : `${who.name} (role ${who.role}) may not read artifact ${id}: it is not an artifact of an experiment ${who.name} owns`,
  );
}

/** A worker's read for an attempt: the artifact must be one the attempt needs. */
export function assertAttemptNeeds(lease: Lease, artifactId: string): void {
  if (!lease.artifacts.has(artifactId)) {
    throw new PermissionDeniedError(
      `artifact ${artifactId} is not an input or the checkpoint of attempt ${lease.attemptId}; a worker reads only what its attempts need`,
    );
  }
}

export function notFound(id: string): NotFoundError {
  return new NotFoundError(`artifact ${id} not found`);
}
