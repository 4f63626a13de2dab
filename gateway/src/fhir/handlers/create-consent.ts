import {
  badRequest,
  ConsentResourceError,
  consentResource,
  FhirError,
  fhirToConsentGrant,
  forbiddenError,
  isChaincodeErrorCode,
  parseChaincodeError,
  unprocessable,
  type ChaincodeErrorCode,
  type ConsentRecord,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import type { LedgerPort } from '../../ledger/ledger-port';
import type { FhirRequest, FhirResult } from './fhir-handler';

export interface ConsentCreateDeps {
  ledger: Pick<LedgerPort, 'grantSignedConsent'>;
  now?: () => Date;
}

/**
 * `POST /fhir/Consent`: a consent the patient signed on their device (mobile-agent
 * `Agent.signedConsent`), relayed by whoever holds it. Any authenticated caller may relay: the
 * patient's signature is what authorizes the grant, and the chaincode checks it against the
 * registered signing certificate, so this gateway neither trusts nor needs to re-check it.
 *
 * The resource is read structurally (fhirToConsentGrant names the FHIRPath of what is wrong; the
 * full R4 validator lives in the ingest threads and costs seconds to load). Answers the ledger's
 * record as the same Consent projection `GET /fhir/Consent` renders.
 */
export async function createConsent(request: FhirRequest, deps: ConsentCreateDeps): Promise<FhirResult<fhir4.Consent>> {
  let grant: ReturnType<typeof fhirToConsentGrant>;
  try {
    grant = fhirToConsentGrant(request.body);
  } catch (err) {
    if (err instanceof ConsentResourceError) throw badRequest(err.message, [err.path]);
    throw err;
  }
  const record = await submitGrant(() => deps.ledger.grantSignedConsent(grant.payload, grant.signature));
  return [undefined, consentResource(record, { now: (deps.now ?? (() => new Date()))() })];
}

/** The ledger's refusals of a grant as HTTP: the request is at fault for these, unlike a failed read. */
const GRANT_REFUSED: Record<ChaincodeErrorCode, (detail: string, cause: LedgerError) => FhirError> = {
  FORBIDDEN: (detail) => forbiddenError(`the ledger refused the consent: ${detail}`),
  CONSENT_REQUIRED: (detail) => forbiddenError(`the ledger refused the consent: ${detail}`),
  INVALID_ARGUMENT: (detail) => unprocessable(`the ledger refused the consent: ${detail}`, ['Consent']),
  NOT_FOUND: (detail) => unprocessable(`the ledger refused the consent: ${detail}`, ['Consent.patient']),
  CONFLICT: (detail, cause) => new FhirError(409, `the ledger refused the consent: ${detail}`, { cause }),
  INVALID_STATE: (detail, cause) => new FhirError(409, `the ledger refused the consent: ${detail}`, { cause }),
};

async function submitGrant(submit: () => Promise<ConsentRecord>): Promise<ConsentRecord> {
  try {
    return await submit();
  } catch (err) {
    if (!(err instanceof LedgerError)) throw err;
    if (isChaincodeErrorCode(err.code)) {
      throw GRANT_REFUSED[err.code](parseChaincodeError(err.message)?.detail ?? err.message, err);
    }
    if (err.code === 'UNAVAILABLE' || err.retryable) {
      throw new FhirError(503, 'the ledger is unreachable; retry later', { cause: err });
    }
    throw new FhirError(502, [{ severity: 'error', code: 'exception', diagnostics: 'the ledger failed the grant' }], {
      cause: err,
    });
  }
}
