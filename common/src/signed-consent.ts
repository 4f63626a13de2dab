/// <reference types="fhir" preserve="true" />
import { createPrivateKey, sign, verify, X509Certificate } from 'node:crypto';
import { canonicalJson } from './canonical-json';
import { consentTermsResource } from './fhir/consent';
import { Hl7Systems, PhrSystems } from './fhir/systems';
import { uniqueSortedCodes } from './code-ref';
import { isoInstant, isPseudonym, isRecordId } from './identifiers';
import {
  GRANTEE_KINDS,
  PURPOSES_OF_USE,
  type CodeRef,
  type ConsentScope,
  type Grantee,
  type PurposeOfUse,
} from './ledger-model';

/**
 * A consent as the patient signs it (issue 5: `POST /fhir/Consent` accepts a patient-signed
 * consent). Anyone may relay it to a gateway; the patient's signature, checked by the chaincode
 * against the registered signing certificate, is what authorizes it.
 */
export interface ConsentGrantPayload {
  consentId: string;
  pseudonym: string;
  grantee: Grantee;
  scope: ConsentScope;
  purposes: PurposeOfUse[];
  /** ISO 8601 instant, inclusive. */
  start: string;
  /** ISO 8601 instant, exclusive. */
  end: string;
}

/** Domain separation: these bytes can never be mistaken for another signed PHR Ledger message. */
export const CONSENT_GRANT_TYPE = 'phr-ledger/consent-grant/v1';

/** The extension that carries the patient's signature (base64 DER ECDSA-SHA256) on a Consent. */
export const PATIENT_SIGNATURE_EXTENSION = 'https://phr-ledger.dev/fhir/StructureDefinition/patient-signature';

/**
 * The payload in the one form that is signed and verified. Scope and purposes are sorted and
 * deduplicated exactly as the chaincode stores them (chaincode/src/validate.ts requireScope,
 * consent.ts parsePurposes), and instants are rendered as `Date#toISOString` as the chaincode's
 * requireInstant does; so the patient may list things in any order and the signature still holds
 * for the record the ledger keeps.
 */
export function normalizeConsentGrant(payload: ConsentGrantPayload): ConsentGrantPayload {
  return {
    consentId: payload.consentId,
    pseudonym: payload.pseudonym,
    grantee: { kind: payload.grantee.kind, id: payload.grantee.id },
    scope: {
      categories: [...new Set(payload.scope.categories)].sort(),
      codes: uniqueSortedCodes(payload.scope.codes),
    },
    purposes: [...new Set(payload.purposes)].sort(),
    // Only well-formed instants are rewritten; anything else is left for the chaincode to refuse.
    start: isoInstant(payload.start) ?? payload.start,
    end: isoInstant(payload.end) ?? payload.end,
  };
}

/** UTF-8 of the RFC 8785 canonical JSON of the type-tagged, normalized payload. */
export function consentSigningBytes(payload: ConsentGrantPayload): Buffer {
  return Buffer.from(canonicalJson({ type: CONSENT_GRANT_TYPE, ...normalizeConsentGrant(payload) }), 'utf8');
}

/** The patient's signature: base64 of a DER ECDSA-SHA256 signature over `consentSigningBytes`. */
export function signConsent(payload: ConsentGrantPayload, privateKeyPem: string): string {
  return sign('sha256', consentSigningBytes(payload), createPrivateKey(privateKeyPem)).toString('base64');
}

/**
 * Whether `certificatePem`'s key signed this payload. Pure and deterministic (no clock, no
 * randomness), so every endorsing peer reaches the same answer. Malformed input is `false`.
 */
export function verifyConsentSignature(
  payload: ConsentGrantPayload,
  signatureB64: string,
  certificatePem: string,
): boolean {
  try {
    if (typeof signatureB64 !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(signatureB64)) return false;
    const key = new X509Certificate(certificatePem).publicKey;
    return verify('sha256', consentSigningBytes(payload), key, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

/**
 * The signed consent as an R4 Consent: the same shape the gateway's projection renders (one
 * mapping, fhir/consent.ts), status `active`, the consent id as identifier and the signature in
 * the patient-signature extension.
 */
export function consentToFhir(payload: ConsentGrantPayload, signature: string): fhir4.Consent {
  const p = normalizeConsentGrant(payload);
  const resource = consentTermsResource({ ...p, period: { start: p.start, end: p.end } }, { status: 'active' });
  return { ...resource, extension: [{ url: PATIENT_SIGNATURE_EXTENSION, valueBase64Binary: signature }] };
}

/** A Consent that cannot be read as a signed grant; `path` is the FHIRPath of what is wrong. */
export class ConsentResourceError extends Error {
  override readonly name = 'ConsentResourceError';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

/**
 * Reads back what `consentToFhir` wrote. Only the shape is checked here; whether the values are
 * acceptable (ids, codes, period) and whether the signature holds is the chaincode's to decide.
 */
export function fhirToConsentGrant(resource: unknown): { payload: ConsentGrantPayload; signature: string } {
  const r = asObject(resource, 'Consent');
  if (r['resourceType'] !== 'Consent') throw new ConsentResourceError('Consent', 'resourceType must be Consent');
  const status = r['status'];
  if (status !== 'active' && status !== 'proposed') {
    throw new ConsentResourceError('Consent.status', 'a consent to grant must be active (or proposed)');
  }

  const signatures = asArray(r['extension'] ?? [], 'Consent.extension').flatMap((e, i) =>
    asObject(e, `Consent.extension[${i}]`)['url'] === PATIENT_SIGNATURE_EXTENSION ? [{ e, i }] : [],
  );
  if (signatures.length !== 1) {
    throw new ConsentResourceError('Consent.extension', `exactly one ${PATIENT_SIGNATURE_EXTENSION} extension needed`);
  }
  const sig = signatures[0]!;
  const signature = asString(
    (sig.e as Record<string, unknown>)['valueBase64Binary'],
    `Consent.extension[${sig.i}].valueBase64Binary`,
  );

  const ids = asArray(r['identifier'] ?? [], 'Consent.identifier').flatMap((x, i) => {
    const o = asObject(x, `Consent.identifier[${i}]`);
    return o['system'] === PhrSystems.consentId ? [{ o, i }] : [];
  });
  if (ids.length !== 1) {
    throw new ConsentResourceError('Consent.identifier', `exactly one identifier of system ${PhrSystems.consentId}`);
  }
  const idAt = `Consent.identifier[${ids[0]!.i}].value`;
  const consentId = asString(ids[0]!.o['value'], idAt);
  if (!isRecordId(consentId)) throw new ConsentResourceError(idAt, 'not a consent id (8-128 of [A-Za-z0-9._-])');

  const patient = asObject(asObject(r['patient'], 'Consent.patient')['identifier'], 'Consent.patient.identifier');
  if (patient['system'] !== PhrSystems.pseudonym) {
    throw new ConsentResourceError('Consent.patient.identifier.system', `must be ${PhrSystems.pseudonym}`);
  }
  const pseudonym = asString(patient['value'], 'Consent.patient.identifier.value');
  if (!isPseudonym(pseudonym)) throw new ConsentResourceError('Consent.patient.identifier.value', 'not a pseudonym');

  const provision = asObject(r['provision'], 'Consent.provision');
  if (provision['type'] !== 'permit') throw new ConsentResourceError('Consent.provision.type', 'must be permit');
  if (provision['provision'] !== undefined) {
    throw new ConsentResourceError('Consent.provision.provision', 'nested provisions are not supported');
  }
  const period = asObject(provision['period'], 'Consent.provision.period');
  const start = asString(period['start'], 'Consent.provision.period.start');
  const end = asString(period['end'], 'Consent.provision.period.end');

  const actors = asArray(provision['actor'], 'Consent.provision.actor');
  if (actors.length !== 1) throw new ConsentResourceError('Consent.provision.actor', 'exactly one grantee');
  const granteeAt = 'Consent.provision.actor[0].reference.identifier';
  const grantee = readGrantee(
    asObject(
      asObject(asObject(actors[0], 'Consent.provision.actor[0]')['reference'], 'Consent.provision.actor[0].reference')[
        'identifier'
      ],
      granteeAt,
    ),
    granteeAt,
  );

  const purposes = asArray(provision['purpose'], 'Consent.provision.purpose').map((c, i) => {
    const at = `Consent.provision.purpose[${i}]`;
    const coding = asObject(c, at);
    const code = coding['code'];
    if (coding['system'] !== Hl7Systems.actReason || !(PURPOSES_OF_USE as readonly unknown[]).includes(code)) {
      throw new ConsentResourceError(at, `must be a PurposeOfUse code of ${Hl7Systems.actReason}`);
    }
    return code as PurposeOfUse;
  });
  if (purposes.length === 0) throw new ConsentResourceError('Consent.provision.purpose', 'at least one purpose');

  const categories = asArray(provision['class'] ?? [], 'Consent.provision.class').map((c, i) => {
    const coding = asObject(c, `Consent.provision.class[${i}]`);
    if (coding['system'] !== PhrSystems.dataCategory) {
      throw new ConsentResourceError(`Consent.provision.class[${i}].system`, `must be ${PhrSystems.dataCategory}`);
    }
    return asString(coding['code'], `Consent.provision.class[${i}].code`);
  });
  const codes = asArray(provision['code'] ?? [], 'Consent.provision.code').map((c, i): CodeRef => {
    const codings = asArray(
      asObject(c, `Consent.provision.code[${i}]`)['coding'],
      `Consent.provision.code[${i}].coding`,
    );
    if (codings.length !== 1)
      throw new ConsentResourceError(`Consent.provision.code[${i}].coding`, 'exactly one coding');
    const coding = asObject(codings[0], `Consent.provision.code[${i}].coding[0]`);
    return {
      system: asString(coding['system'], `Consent.provision.code[${i}].coding[0].system`),
      code: asString(coding['code'], `Consent.provision.code[${i}].coding[0].code`),
    };
  });

  return { payload: { consentId, pseudonym, grantee, scope: { categories, codes }, purposes, start, end }, signature };
}

function readGrantee(identifier: Record<string, unknown>, at: string): Grantee {
  const id = asString(identifier['value'], `${at}.value`);
  const kind: (typeof GRANTEE_KINDS)[number] | undefined =
    identifier['system'] === PhrSystems.mspId
      ? 'organization'
      : identifier['system'] === PhrSystems.identityKey
        ? 'identity'
        : undefined;
  if (!kind) throw new ConsentResourceError(`${at}.system`, `must be ${PhrSystems.mspId} or ${PhrSystems.identityKey}`);
  return { kind, id };
}

function asObject(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConsentResourceError(path, 'must be an object');
  }
  return value as Record<string, unknown>;
}

function asArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ConsentResourceError(path, 'must be an array');
  return value;
}

function asString(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '') throw new ConsentResourceError(path, 'must be a non-empty string');
  return value;
}
