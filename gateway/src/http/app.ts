import express, { type Express } from 'express';
import { badRequest, isPseudonym, notFoundError, Roles } from '@phr/common';
import type { ClientCertificateAuthenticator } from '../auth/client-certificate';
import type { CcdaIngestDeps } from '../ccda/ccda-ingest';
import type { IdentityStore } from '../identity/identity-store';
import type { PatientDirectory } from '../identity/patient-directory';
import type { IngestService } from '../ingest/ingest-service';
import { lifecycleRouter, type LifecycleRouterDeps } from '../lifecycle';
import type { Logger } from '../logger';
import { mailboxRouter, type MailboxStore } from '../mailbox';
import type { WakeupRegistry } from '../notify';
import { pullReplyRouter, type PullService } from '../pull';
import { recoveryRouter, type RecoveryRouterDeps } from '../recovery';
import type { ExtractMailboxDeps } from '../research-mailbox';
import { allow, authenticate, principalOf, requireRole } from './authenticate';
import { bodyReader } from './body';
import { errorHandler, notFoundHandler } from './error-handler';
import { fhirRouter } from './fhir-router';
import type { ProjectionDeps } from './projection-handlers';
import { fhirRoutes } from './route-table';

export interface AppDeps {
  hospital: { name: string; mspId: string; displayName: string };
  baseUrl: string;
  version: string;
  startedAt: string;
  limits: {
    maxBundleBytes: number;
    maxDepth: number;
    /** Largest C-CDA document /ccda reads (config limits.maxCcdaBytes). */
    maxCcdaBytes: number;
    /** A body being read that sends nothing for this long is answered 408 (config http.bodyIdleTimeoutMs). */
    bodyIdleTimeoutMs?: number;
  };
  authenticator: ClientCertificateAuthenticator;
  ingest: IngestService;
  /** The C-CDA push flow (POST /ccda). */
  ccda: CcdaIngestDeps;
  identities: IdentityStore;
  patients: PatientDirectory;
  mailbox: MailboxStore;
  wakeups: WakeupRegistry;
  /** The pull flow; absent when the ledger cannot evaluate consent (ledger mode none). */
  pulls?: PullService;
  /** Ledger reads for the FHIR projections (Consent, AuditEvent, $verify). */
  ledger: ProjectionDeps['ledger'];
  /** The record's life cycle: backups, rebuilds, erasure (lifecycle/). */
  lifecycle?: Pick<LifecycleRouterDeps, 'keys' | 'backups' | 'rebuilds' | 'erasure' | 'maxBackupBytes'>;
  /** Key recovery with guardians: patient-to-patient relay, recovery requests and approvals. */
  recovery?: Pick<RecoveryRouterDeps, 'store' | 'ledger' | 'limits'>;
  /** The research extract mailbox (issue 16): /research/extracts and /research/offers/{id}/extracts. */
  research?: Pick<ExtractMailboxDeps, 'store' | 'ledger' | 'now'>;
  log: Logger;
}

/**
 * The gateway's HTTP surface: a thin Express layer over the services. The FHIR routes (and /ccda)
 * come from the route table (route-table.ts), which the CapabilityStatement is made of too; the
 * others (deliveries, identity, mailbox) are not FHIR and are here. Every route that takes a body
 * checks who is calling first (the client certificate: `authenticate`, then the route's access or
 * owner check) and reads the body after, with a limit (body.ts).
 */
export function createApp(d: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Liveness for the network scripts: says nothing but "up".
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'OK' });
  });

  app.use(authenticate(d.authenticator));
  const body = bodyReader(
    d.limits.bodyIdleTimeoutMs !== undefined ? { idleTimeoutMs: d.limits.bodyIdleTimeoutMs } : undefined,
  );
  const json = body.json(64 * 1024);
  const admin = allow([Roles.Admin], d.hospital.mspId);

  app.use(
    fhirRouter(
      fhirRoutes({
        hospital: d.hospital,
        baseUrl: d.baseUrl,
        version: d.version,
        startedAt: d.startedAt,
        limits: d.limits,
        body,
        ingest: d.ingest,
        ccda: d.ccda,
        ledger: d.ledger,
        patients: d.patients,
        ...(d.pulls ? { pulls: d.pulls } : {}),
        ...(d.research ? { research: { ...d.research, log: d.log } } : {}),
      }),
      body,
    ),
  );

  app.get('/deliveries/:deliveryId', (req, res) => {
    requireRole(res, [Roles.Ehr, Roles.Admin], d.hospital.mspId);
    const receipt = d.ingest.receipt(String(req.params.deliveryId));
    if (!receipt) throw notFoundError('no such delivery at this gateway');
    res.json(receipt);
  });

  // Identity layer: the patient's agent asks for a link code; the hospital's admin links an MRN with it.
  app.post('/identity/link-codes', allow([Roles.Patient]), json, async (req, res) => {
    const pseudonym = (req.body as { pseudonym?: unknown })?.pseudonym;
    if (!isPseudonym(pseudonym)) throw badRequest('pseudonym is required', ['pseudonym']);
    await d.patients.authorizeOwner(principalOf(res), pseudonym);
    res.status(201).json(d.identities.issueLinkCode(pseudonym));
  });

  app.post('/identity/links', admin, json, (req, res) => {
    const admin = requireRole(res, [Roles.Admin], d.hospital.mspId);
    const { identifier, code } = parseLinkBody(req.body);
    const link = d.identities.link(identifier, code, admin.id);
    d.log.info({ admin: admin.id, created: link.created }, 'patient linked');
    res.status(link.created ? 201 : 200).json({ pseudonym: link.pseudonym, linkedAt: link.linkedAt });
  });

  app.delete('/identity/links', admin, json, (req, res) => {
    requireRole(res, [Roles.Admin], d.hospital.mspId);
    const identifier = parseIdentifier((req.body as { identifier?: unknown })?.identifier);
    d.identities.unlink(identifier);
    res.status(204).end();
  });

  // Before the mailbox router: the agent's answer to a pull is under /mailbox too.
  if (d.pulls) {
    app.use(pullReplyRouter({ service: d.pulls, patients: d.patients, maxReplyBytes: d.limits.maxBundleBytes, body }));
  }

  app.use(
    '/mailbox',
    mailboxRouter({
      store: d.mailbox,
      wakeups: d.wakeups,
      authorizePatient: async (_req, res, pseudonym) => {
        await d.patients.authorizeOwner(principalOf(res), pseudonym);
      },
      log: d.log,
      body,
    }),
  );

  if (d.lifecycle) app.use(lifecycleRouter({ ...d.lifecycle, patients: d.patients, body, log: d.log }));

  if (d.recovery) app.use(recoveryRouter({ ...d.recovery, patients: d.patients, body, log: d.log }));

  app.use(notFoundHandler);
  app.use(errorHandler(d.log));
  return app;
}

function parseLinkBody(body: unknown): { identifier: { system: string; value: string }; code: string } {
  const b = (body ?? {}) as { identifier?: unknown; code?: unknown };
  if (typeof b.code !== 'string' || b.code.length < 6 || b.code.length > 32)
    throw badRequest('code is required', ['code']);
  return { identifier: parseIdentifier(b.identifier), code: b.code };
}

function parseIdentifier(x: unknown): { system: string; value: string } {
  const i = (x ?? {}) as { system?: unknown; value?: unknown };
  if (typeof i.system !== 'string' || !i.system || typeof i.value !== 'string' || !i.value || i.value.length > 256) {
    throw badRequest('identifier.system and identifier.value (the MRN) are required', ['identifier']);
  }
  return { system: i.system, value: i.value };
}
