import { Router, type Request, type RequestHandler, type Response } from 'express';
import {
  BACKUP_MEDIA_TYPE,
  BACKUP_SHA256_HEADER,
  BACKUP_VERSION_HEADER,
  badRequest,
  FhirError,
  isPseudonym,
  notFoundError,
  Roles,
  type BackupVersions,
  type PatientRecord,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import { allow, principalOf } from '../http/authenticate';
import { mediaType, type BodyReader } from '../http/body';
import type { PatientDirectory } from '../identity/patient-directory';
import type { Logger } from '../logger';
import type { BackupStore } from './backup-store';
import type { ErasureService } from './erasure-service';
import { LifecycleError } from './lifecycle-error';
import type { PatientKeys } from './patient-keys';
import type { RebuildService } from './rebuild-service';

export interface LifecycleRouterDeps {
  keys: PatientKeys;
  backups: BackupStore;
  rebuilds: RebuildService;
  erasure: ErasureService;
  /** Owner checks, and the patient's record read now for a rebuild. */
  patients: PatientDirectory;
  body: BodyReader;
  /** Largest backup `PUT /backup` takes (config limits.maxBackupBytes). */
  maxBackupBytes: number;
  log: Logger;
}

const VERSION_PARAM = /^[1-9][0-9]{0,9}$/;

/**
 * The record's life cycle at this gateway (issue 15), for the patient's own agent: backups,
 * rebuilds, erasure. Not FHIR (no resources): mounted beside `/mailbox`. Every route is for the
 * patient role over mutual TLS, and the caller must own the pseudonym on the ledger
 * (PatientDirectory.authorizeOwner, which follows a restore to the new device's identity); both
 * are checked before a body is read. Every error is an OperationOutcome.
 *
 * - `PUT /backup/{pseudonym}` (application/octet-stream, at most `maxBackupBytes`): 201 with the new
 *   version, or 200 with the latest one when the bytes are the same; 429 while another upload of
 *   the same patient is still arriving.
 * - `GET /backup/{pseudonym}[?version=N]`: the bytes of the latest (or that) version; 404 when none.
 * - `GET /backup/{pseudonym}/versions`: the versions kept, oldest first.
 * - `POST /rebuild/{pseudonym}`: re-seals every kept delivery to the patient's current key.
 * - `POST /erasure/{pseudonym}`: destroys this gateway's copies and answers a signed receipt.
 */
export function lifecycleRouter(d: LifecycleRouterDeps): Router {
  const router = Router();
  const patient = allow([Roles.Patient]);
  // One upload per patient at a time: a backup is read whole into memory (up to maxBackupBytes), and
  // one device has no reason to send two at once; the connection limits bound the rest.
  const uploading = new Set<string>();

  router.use(['/backup', '/rebuild', '/erasure'], (_req, res, next) => {
    // Per-patient answers that change: no cache may keep them.
    res.set('Cache-Control', 'no-store');
    next();
  });

  router.put(
    '/backup/:pseudonym',
    patient,
    handle(async (req, res) => {
      const pseudonym = await ownedLive(d, req, res);
      if (mediaType(req.headers['content-type']) !== BACKUP_MEDIA_TYPE) {
        throw new FhirError(415, `a backup is sent as ${BACKUP_MEDIA_TYPE}`);
      }
      if (uploading.has(pseudonym)) {
        throw new FhirError(429, 'another backup of this patient is being uploaded; retry when it is done');
      }
      uploading.add(pseudonym);
      let bytes: Buffer;
      try {
        bytes = await d.body.read(req, res, d.maxBackupBytes);
      } finally {
        uploading.delete(pseudonym);
      }
      if (bytes.length === 0) throw badRequest('the backup is empty');
      const put = d.backups.put(pseudonym, bytes);
      d.log.info(
        { pseudonym, version: put.version.version, size: put.version.size, created: put.created },
        'backup stored',
      );
      res
        .status(put.created ? 201 : 200)
        .location(`/backup/${pseudonym}?version=${put.version.version}`)
        .json(put.version);
    }),
  );

  router.get(
    '/backup/:pseudonym/versions',
    patient,
    handle(async (req, res) => {
      const pseudonym = await ownedLive(d, req, res);
      const answer: BackupVersions = { versions: d.backups.versions(pseudonym) };
      res.json(answer);
    }),
  );

  router.get(
    '/backup/:pseudonym',
    patient,
    handle(async (req, res) => {
      const pseudonym = await ownedLive(d, req, res);
      const version = req.query.version;
      if (version !== undefined && (typeof version !== 'string' || !VERSION_PARAM.test(version))) {
        throw badRequest('version must be given once, as a positive integer', ['version']);
      }
      const backup = d.backups.get(pseudonym, version === undefined ? undefined : Number(version));
      res
        .status(200)
        .set({
          'Content-Type': BACKUP_MEDIA_TYPE,
          [BACKUP_VERSION_HEADER]: String(backup.version),
          [BACKUP_SHA256_HEADER]: backup.sha256,
          'Last-Modified': new Date(backup.storedAt).toUTCString(),
        })
        .send(backup.bytes);
    }),
  );

  router.post(
    '/rebuild/:pseudonym',
    patient,
    handle(async (req, res) => {
      const pseudonym = await ownedLive(d, req, res);
      // The key the patient holds now (rotated by a restore), never a cached one.
      const record = await d.patients.fresh(pseudonym);
      if (!record) throw notFoundError('the patient is not registered on the ledger');
      res.json(await d.rebuilds.rebuild(record));
    }),
  );

  router.post(
    '/erasure/:pseudonym',
    patient,
    handle(async (req, res) => {
      const pseudonym = await owned(d, req, res);
      res.json(await d.erasure.erase(pseudonym));
    }),
  );

  return router;
}

/** The pseudonym in the path, after the caller was found to own it on the ledger. */
async function owned(d: LifecycleRouterDeps, req: Request, res: Response): Promise<string> {
  const pseudonym = String(req.params.pseudonym);
  if (!isPseudonym(pseudonym)) throw badRequest('the pseudonym in the path is malformed');
  await d.patients.authorizeOwner(principalOf(res), pseudonym);
  return pseudonym;
}

/** `owned`, for a patient who has not erased their records (here or on the ledger). */
async function ownedLive(d: LifecycleRouterDeps, req: Request, res: Response): Promise<string> {
  const pseudonym = String(req.params.pseudonym);
  if (!isPseudonym(pseudonym)) throw badRequest('the pseudonym in the path is malformed');
  const record: PatientRecord = await d.patients.authorizeOwner(principalOf(res), pseudonym);
  if (record.erasedAt !== undefined || d.keys.isErased(pseudonym)) {
    throw new LifecycleError('ERASED', 'the patient erased their records');
  }
  return pseudonym;
}

/** An async route whose refusals become OperationOutcomes with their status (error-handler.ts answers). */
function handle(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return async (req, res) => {
    try {
      await fn(req, res);
    } catch (err) {
      throw httpError(err);
    }
  };
}

function httpError(err: unknown): unknown {
  if (err instanceof LifecycleError) {
    if (err.code === 'NO_BACKUP') return new FhirError(404, err.message, { cause: err });
    return new FhirError(410, `${err.message}: this gateway keeps nothing more for them`, { cause: err });
  }
  if (err instanceof LedgerError) {
    return new FhirError(503, 'the ledger is unreachable; retry later', { cause: err });
  }
  return err;
}
