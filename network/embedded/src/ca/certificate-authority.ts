import { randomInt, X509Certificate } from 'node:crypto';
import {
  AttributeError,
  attributeIsTrue,
  BOOTSTRAP_ATTRIBUTES,
  certificateAttributes,
  checkMayActOnAffiliation,
  checkMayActOnType,
  checkMayRegisterAttributes,
  HF,
  type AttributeRequest,
} from './attributes';
import {
  isRevokedIdentity,
  type CaDatabase,
  type IdentityAttribute,
  type IdentityRecord,
  type IssuedCertificate,
  type RevokedCertificateFilter,
} from './ca-database';
import { parseBasicAuth } from './basic-auth';
import { hexId, parseCertificate, readName } from './certificate-builder';
import { parseCsr, type ParsedCsr } from './csr';
import { CaErrorCode, FabricCaError } from './errors';
import type { Issuer } from './issuer';
import {
  booleanField,
  field,
  integerField,
  objectArrayField,
  stringArrayField,
  stringField,
  type JsonObject,
  type RequestContext,
} from './request-context';
import { hashSecret, verifySecret } from './secret-hash';
import { verifyAuthToken } from './token-auth';

/** The Fabric CA release whose REST API this CA answers (reported as `Version` by cainfo). */
export const FABRIC_CA_VERSION = '1.5.21';

/** A successful answer: the HTTP status, the envelope's `result`, extra headers. */
export interface CaReply {
  status: number;
  result: unknown;
  headers?: Record<string, string>;
}

/** `cainfo`'s result, and the `ServerInfo` of an enrollment (Version empty there, as in Fabric CA). */
export interface CaInfo {
  CAName: string;
  CAChain: string;
  IssuerPublicKey: string;
  IssuerRevocationPublicKey: string;
  Version: string;
}

/** What the CA reports of each outcome (never secrets or certificates). */
export interface CaEvent {
  event: 'enrolled' | 'reenrolled' | 'registered' | 'bootstrapped' | 'revoked' | 'crl-generated';
  id: string;
  by?: string;
  type?: string;
  profile?: string;
  serial?: string;
  /** revoked: the serials revoked; crl-generated: the serials the CRL lists. */
  serials?: string[];
  /** revoked: the RFC 5280 reason code. */
  reason?: number;
}

/** One revoked certificate in `revoke`'s result (`api.RevokedCert`). */
export interface RevokedCert {
  Serial: string;
  AKI: string;
}

/**
 * Fabric CA's revocation reasons (`lib/serverrevoke.go`): the request's `reason` looked up exactly
 * (lower case); anything else, or none, is 0 (unspecified).
 */
export const REVOCATION_REASONS: Readonly<Record<string, number>> = {
  unspecified: 0,
  keycompromise: 1,
  cacompromise: 2,
  affiliationchanged: 3,
  superseded: 4,
  cessationofoperation: 5,
  certificatehold: 6,
  removefromcrl: 8,
  privilegewithdrawn: 9,
  aacompromise: 10,
};

export interface CertificateAuthorityOptions {
  /** `--ca-name`: requests naming another CA are answered 404 code 19. */
  name: string;
  db: CaDatabase;
  issuer: Issuer;
  onEvent?: (event: CaEvent) => void;
}

/** Field length limits of Fabric CA's CSR check (RFC 3280 upper bounds). */
const CSR_LIMITS: [keyof ParsedCsr['subject'], string, number][] = [
  ['CN', 'CN', 64],
  ['serialNumber', 'serial number', 64],
  ['OU', 'organizational unit name', 64],
  ['O', 'organization name', 64],
  ['C', 'country name', 2],
  ['L', 'locality name', 128],
  ['ST', 'state name', 128],
];

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Fabric CA's generated secrets: 12 letters. */
function randomSecret(): string {
  return Array.from({ length: 12 }, () => LETTERS[randomInt(LETTERS.length)]).join('');
}

function maxEnrollmentsOf(requested: number): number {
  if (requested < -1) {
    throw FabricCaError.badRequest(
      CaErrorCode.INVALID_MAX_ENROLLMENTS,
      `Max enrollment in registration request may not be less than -1, but was ${requested}`,
    );
  }
  // The CA itself allows unlimited enrollments (fabric-ca-server's default registry.maxenrollments -1).
  return requested === 0 ? -1 : requested;
}

function attributeValue(identity: IdentityRecord, name: string): string | undefined {
  return identity.attributes.find((a) => a.name === name)?.value;
}

/** Fabric CA's `parseInput` of a revoke request's serial and AKI: lower case, leading zeros and colons dropped. */
function hexInput(value: string): string {
  return value.toLowerCase().replace(/^0+/, '').replaceAll(':', '');
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
/** Go's zero `time.Time`, 0001-01-01T00:00:00Z. */
const GO_ZERO_TIME = Date.parse('0001-01-01T00:00:00Z');

/**
 * A `time.Time` field of a request as Go's JSON decoding reads it: absent or null is the zero time,
 * a string must be RFC 3339. The zero time (which the Go CLI sends for a bound it leaves unset) is
 * returned as undefined, like an absent bound.
 */
function timeField(body: JsonObject, name: string): Date | undefined {
  const value = field(body, name);
  if (value === undefined || value === null) return undefined;
  const match = typeof value === 'string' ? RFC3339.exec(value) : null;
  const time = match ? new Date(`${match[1]}${(match[2] ?? '').slice(0, 4)}${match[3]}`) : undefined;
  if (!time || Number.isNaN(time.getTime())) {
    throw FabricCaError.badRequest(
      CaErrorCode.BAD_BODY,
      `Invalid request body: parsing time ${JSON.stringify(value)} as RFC 3339 for '${name}'`,
    );
  }
  return time.getTime() === GO_ZERO_TIME ? undefined : time;
}

/**
 * One Fabric CA: its registry and certificate store, its issuer, and the handlers of `cainfo`,
 * `enroll`, `reenroll`, `register`, `revoke` and `gencrl` with Fabric CA's checks, in Fabric CA's
 * order.
 */
export class CertificateAuthority {
  readonly name: string;
  private readonly db: CaDatabase;
  private readonly issuer: Issuer;
  private readonly caCertificate: X509Certificate;
  private readonly onEvent: (event: CaEvent) => void;
  /** Compared against when the id is unknown, so an unknown id costs the time of a wrong secret. */
  private readonly decoy: Promise<string>;

  constructor(options: CertificateAuthorityOptions) {
    this.name = options.name;
    this.db = options.db;
    this.issuer = options.issuer;
    this.caCertificate = new X509Certificate(options.issuer.caCertificatePem);
    this.onEvent = options.onEvent ?? (() => undefined);
    this.decoy = hashSecret('decoy');
  }

  /**
   * Registers the bootstrap registrar (`-b id:secret`) unless it exists, as fabric-ca-server does:
   * type client, root affiliation, unlimited enrollments, every registrar right. An existing
   * identity keeps its secret. Returns whether it was added.
   */
  async bootstrap(id: string, secret: string): Promise<boolean> {
    if (this.db.getIdentity(id)) return false;
    const added = this.db.insertIdentity({
      id,
      secretHash: await hashSecret(secret),
      type: 'client',
      affiliation: '',
      attributes: [...BOOTSTRAP_ATTRIBUTES],
      maxEnrollments: -1,
    });
    if (added) this.onEvent({ event: 'bootstrapped', id });
    return added;
  }

  info(version = FABRIC_CA_VERSION): CaInfo {
    return {
      CAName: this.name,
      CAChain: Buffer.from(this.issuer.caCertificatePem).toString('base64'),
      IssuerPublicKey: '',
      IssuerRevocationPublicKey: '',
      Version: version,
    };
  }

  cainfo(ctx: RequestContext): CaReply {
    this.checkCaName(ctx);
    return { status: 200, result: this.info() };
  }

  async enroll(ctx: RequestContext): Promise<CaReply> {
    const header = ctx.authorization;
    if (!header) throw new FabricCaError(401, CaErrorCode.NO_AUTH_HEADER, 'No authorization header');
    const basic = parseBasicAuth(header);
    if (!basic) throw FabricCaError.authentication(CaErrorCode.NO_USER_PASS, 'No user/pass in authorization header');
    this.checkCaName(ctx);
    const identity = this.db.getIdentity(basic.id);
    if (!identity) {
      await verifySecret(basic.secret, await this.decoy);
      throw FabricCaError.authentication(CaErrorCode.INVALID_USER, `Failed to get user: '${basic.id}' not found`);
    }
    if (!(await verifySecret(basic.secret, identity.secretHash))) {
      throw FabricCaError.authentication(CaErrorCode.INVALID_PASS, 'Login failure: Password mismatch');
    }
    const revoked = () =>
      FabricCaError.authentication(
        CaErrorCode.INVALID_PASS,
        `Login failure: User ${identity.id} is revoked; access denied`,
      );
    if (isRevokedIdentity(identity)) throw revoked();
    const reached = () =>
      FabricCaError.authentication(
        CaErrorCode.INVALID_PASS,
        `Login failure: The identity ${identity.id} has already enrolled ${identity.maxEnrollments} times, it has reached its maximum enrollment allowance`,
      );
    if (identity.maxEnrollments !== -1 && identity.enrollments >= identity.maxEnrollments) throw reached();
    const { certificate, profile } = this.sign(identity, ctx);
    if (!this.db.recordEnrollment(identity.id, certificate)) {
      // Revoked or at its maximum since it was read.
      const now = this.db.getIdentity(identity.id);
      throw now && isRevokedIdentity(now) ? revoked() : reached();
    }
    this.onEvent({ event: 'enrolled', id: identity.id, type: identity.type, profile, serial: certificate.serial });
    return this.enrollmentReply(certificate);
  }

  reenroll(ctx: RequestContext): CaReply {
    const identity = this.authenticateToken(ctx);
    const { certificate, profile } = this.sign(identity, ctx);
    this.db.storeCertificate(certificate);
    this.onEvent({ event: 'reenrolled', id: identity.id, type: identity.type, profile, serial: certificate.serial });
    return this.enrollmentReply(certificate);
  }

  async register(ctx: RequestContext): Promise<CaReply> {
    this.checkCaName(ctx);
    const body = ctx.requireJson();
    const registrar = this.authenticateToken(ctx);
    const id = stringField(body, 'id');
    if (id === '') throw FabricCaError.badRequest(CaErrorCode.BAD_BODY, 'Invalid request body: id is required');
    let affiliation = stringField(body, 'affiliation');
    if (affiliation === '') affiliation = registrar.affiliation;
    else if (affiliation === '.') affiliation = '';
    const type = stringField(body, 'type') || registrar.type;
    const requested: IdentityAttribute[] = (objectArrayField(body, 'attrs') ?? []).map((a) => ({
      name: stringField(a, 'name'),
      value: stringField(a, 'value'),
      ecert: booleanField(a, 'ecert'),
    }));
    try {
      checkMayActOnType(registrar, type);
      checkMayActOnAffiliation(registrar, affiliation);
      checkMayRegisterAttributes(registrar, requested);
    } catch (err) {
      if (!(err instanceof AttributeError)) throw err;
      throw FabricCaError.authorization(
        CaErrorCode.REGISTRAR_NOT_AUTHORIZED,
        `Registration of '${id}' failed: ${err.message}`,
        err,
      );
    }
    const secret = stringField(body, 'secret') || randomSecret();
    const maxEnrollments = maxEnrollmentsOf(integerField(body, 'max_enrollments'));
    const duplicate = () =>
      new FabricCaError(409, CaErrorCode.DUPLICATE_IDENTITY, `Identity '${id}' is already registered`);
    if (this.db.getIdentity(id)) throw duplicate();
    const attributes = [
      ...requested,
      { name: HF.ENROLLMENT_ID, value: id, ecert: true },
      { name: HF.TYPE, value: type, ecert: true },
      { name: HF.AFFILIATION, value: affiliation, ecert: true },
    ];
    const secretHash = await hashSecret(secret);
    if (!this.db.insertIdentity({ id, secretHash, type, affiliation, attributes, maxEnrollments })) throw duplicate();
    this.onEvent({ event: 'registered', id, by: registrar.id, type });
    return {
      status: 201,
      result: { secret },
      headers: { Location: `/api/v1/identities/${encodeURIComponent(id)}` },
    };
  }

  /**
   * Fabric CA's `revoke`: by serial and AKI one certificate (which must be `id`'s when `id` is
   * given), else by enrollment id every certificate of the identity not yet revoked, the identity's
   * state becoming -1 so it can never enroll again. Revoking for another identity needs
   * `hf.Revoker`, and (unless it is the caller's own certificate or identity) the caller must be
   * a registrar for the target's type and affiliation. With `gencrl`, the result carries the new
   * CRL when something was revoked.
   */
  revoke(ctx: RequestContext): CaReply {
    // The body is decoded before authentication, as Fabric CA does.
    const body = ctx.requireJson();
    const name = stringField(body, 'id');
    const serial = hexInput(stringField(body, 'serial'));
    const aki = hexInput(stringField(body, 'aki'));
    const reason = REVOCATION_REASONS[stringField(body, 'reason')] ?? 0;
    const gencrl = booleanField(body, 'gencrl');
    const caller = this.authenticateCaller(ctx);
    const now = new Date();
    const notFound = (id: string) =>
      new FabricCaError(
        404,
        CaErrorCode.REVOKE_ID_NOT_FOUND,
        `Identity ${id} was not found: Failed to get User: sql: no rows in result set`,
      );
    let revoked: RevokedCert[];
    let target: string;
    if (serial !== '' && aki !== '') {
      const certificate = this.db.getCertificate(serial, aki);
      if (!certificate) {
        throw new FabricCaError(
          404,
          CaErrorCode.REVOKE_CERT_NOT_FOUND,
          `Certificate with serial ${serial} and AKI ${aki} was not found: Failed to get Certificate: sql: no rows in result set`,
        );
      }
      this.checkRevoker(caller.identity, certificate.enrollmentId);
      const alreadyRevoked = () =>
        new FabricCaError(
          404,
          CaErrorCode.CERT_ALREADY_REVOKED,
          `Certificate with serial ${serial} and AKI ${aki} was already revoked`,
        );
      if (certificate.status === 'revoked') throw alreadyRevoked();
      if (name !== '' && name !== certificate.enrollmentId) {
        throw FabricCaError.badRequest(
          CaErrorCode.CERT_WRONG_OWNER,
          `Certificate with serial ${serial} and AKI ${aki} is not owned by ${name}`,
        );
      }
      const owner = this.db.getIdentity(certificate.enrollmentId);
      if (!owner) throw notFound(certificate.enrollmentId);
      if (!(serial === caller.serial && aki === caller.aki)) this.checkMayManage(caller.identity, owner);
      if (!this.db.revokeCertificate(serial, aki, reason, now)) throw alreadyRevoked();
      revoked = [{ Serial: serial, AKI: aki }];
      target = owner.id;
    } else if (name !== '') {
      this.checkRevoker(caller.identity, name);
      const identity = this.db.getIdentity(name);
      if (!identity) throw notFound(name);
      if (caller.identity.id !== identity.id) this.checkMayManage(caller.identity, identity);
      const records = this.db.revokeIdentity(name, reason, now);
      if (!records) throw notFound(name);
      revoked = records.map((r) => ({ Serial: r.serial, AKI: r.aki }));
      target = name;
    } else {
      throw FabricCaError.badRequest(
        CaErrorCode.MISSING_REVOKE_ARGS,
        'Either Name or Serial and AKI are required for a revoke request',
      );
    }
    this.onEvent({
      event: 'revoked',
      id: target,
      by: caller.identity.id,
      serials: revoked.map((r) => r.Serial),
      reason,
    });
    const crl = gencrl && revoked.length > 0 ? Buffer.from(this.generateCrl({}, now)).toString('base64') : '';
    // Go writes a nil slice as null: an identity revoked without certificates.
    return { status: 200, result: { RevokedCerts: revoked.length > 0 ? revoked : null, CRL: crl } };
  }

  /**
   * Fabric CA's `gencrl`: a CRL of the revoked certificates, optionally only those revoked or
   * expiring within bounds (`revokedafter`, `revokedbefore`, `expireafter`, `expirebefore`, RFC
   * 3339); the caller needs `hf.GenCRL`.
   */
  gencrl(ctx: RequestContext): CaReply {
    const body = ctx.requireJson();
    const filter: RevokedCertificateFilter = {
      revokedAfter: timeField(body, 'revokedafter'),
      revokedBefore: timeField(body, 'revokedbefore'),
      expireAfter: timeField(body, 'expireafter'),
      expireBefore: timeField(body, 'expirebefore'),
    };
    const caller = this.authenticateToken(ctx);
    if (!attributeIsTrue(caller, HF.GEN_CRL)) {
      throw FabricCaError.authorization(
        CaErrorCode.NO_GENCRL_AUTH,
        `The identity '${caller.id}' does not have authority to generate a CRL`,
      );
    }
    const pem = this.generateCrl(filter);
    return { status: 200, result: { CRL: Buffer.from(pem).toString('base64') } };
  }

  /** The PEM CRL of the revoked certificates `filter` selects, signed now (Fabric CA's `genCRL`). */
  private generateCrl(filter: RevokedCertificateFilter, now = new Date()): string {
    const after = (a: Date | undefined, b: Date | undefined) =>
      b !== undefined && a !== undefined && a.getTime() > b.getTime();
    if (after(filter.revokedAfter, filter.revokedBefore)) {
      throw FabricCaError.badRequest(
        CaErrorCode.INVALID_REVOKED_AFTER,
        "Invalid 'revokedafter' value. It must not be a timestamp greater than 'revokedbefore'",
      );
    }
    if (after(filter.expireAfter, filter.expireBefore)) {
      throw FabricCaError.badRequest(
        CaErrorCode.INVALID_EXPIRED_AFTER,
        "Invalid 'expireafter' value. It must not be a timestamp greater than 'expirebefore'",
      );
    }
    if (!this.issuer.canSignCrl) {
      throw new FabricCaError(
        500,
        CaErrorCode.NO_CRL_SIGN_AUTH,
        "The CA does not have authority to generate a CRL. Its certificate does not have 'crl sign' key usage",
      );
    }
    const records = this.db.revokedCertificates(filter);
    const pem = this.issuer.createCrl(
      records.map((r) => ({ serial: r.serial, revokedAt: r.revokedAt ?? now })),
      now,
    );
    this.onEvent({ event: 'crl-generated', id: this.name, serials: records.map((r) => r.serial) });
    return pem;
  }

  /** Fabric CA's `checkAuth`: acting on another identity's certificates needs `hf.Revoker`. */
  private checkRevoker(caller: IdentityRecord, target: string): void {
    if (caller.id !== target && !attributeIsTrue(caller, HF.REVOKER)) {
      throw FabricCaError.authorization(CaErrorCode.NOT_REVOKER, 'Caller does not have authority to revoke');
    }
  }

  /** Fabric CA's `CanManageUser`: the target's affiliation is within the caller's, its type in the caller's roles. */
  private checkMayManage(caller: IdentityRecord, target: IdentityRecord): void {
    try {
      checkMayActOnAffiliation(caller, target.affiliation);
      checkMayActOnType(caller, target.type);
    } catch (err) {
      if (!(err instanceof AttributeError)) throw err;
      throw FabricCaError.authorization(CaErrorCode.CALLER_NOT_AFFILIATED, err.message, err);
    }
  }

  /** 404 code 19 unless the request names this CA or none. */
  private checkCaName(ctx: RequestContext): void {
    const name = ctx.caName();
    if (name !== '' && name !== this.name) {
      throw new FabricCaError(404, CaErrorCode.CA_NOT_FOUND, `CA '${name}' does not exist`);
    }
  }

  /**
   * Token authentication as fabric-ca-server does it: the signature over this request, then the
   * certificate chains to this CA, is current, is in this CA's store and not revoked, and its CN is a
   * registered identity.
   */
  private authenticateToken(ctx: RequestContext): IdentityRecord {
    return this.authenticateCaller(ctx).identity;
  }

  /** {@link authenticateToken}, also giving the serial and AKI of the caller's certificate. */
  private authenticateCaller(ctx: RequestContext): { identity: IdentityRecord; serial: string; aki: string } {
    const header = ctx.authorization;
    if (!header) throw new FabricCaError(401, CaErrorCode.NO_AUTH_HEADER, 'No authorization header');
    this.checkCaName(ctx);
    const certificate = verifyAuthToken(header, ctx.method, ctx.uri, ctx.body);
    const now = Date.now();
    const issued = certificate.checkIssued(this.caCertificate) && certificate.verify(this.caCertificate.publicKey);
    if (!issued) {
      throw FabricCaError.authentication(
        CaErrorCode.UNTRUSTED_CERTIFICATE,
        'Untrusted certificate: not issued by this CA',
      );
    }
    if (now < certificate.validFromDate.getTime() || now > certificate.validToDate.getTime()) {
      throw FabricCaError.authentication(
        CaErrorCode.CERT_EXPIRED,
        'The certificate in the authorization header is expired',
      );
    }
    const serial = hexId(Buffer.from(certificate.serialNumber, 'hex'));
    const aki = this.issuer.authorityKeyId;
    const record = this.db.getCertificate(serial, aki);
    if (!record) {
      throw FabricCaError.authentication(
        CaErrorCode.CERT_NOT_FOUND,
        `Certificate not found with AKI '${aki}' and serial '${serial}'`,
      );
    }
    if (record.status === 'revoked') {
      throw FabricCaError.authentication(
        CaErrorCode.CERT_REVOKED,
        'The certificate in the authorization header is a revoked certificate',
      );
    }
    const id = readName(parseCertificate(certificate.raw).tbsCertificate.subject).CN ?? '';
    const identity = this.db.getIdentity(id);
    if (!identity) throw FabricCaError.authentication(CaErrorCode.GETTING_USER, 'Failed to get user');
    // Revoking an identity revokes all its certificates at once; this refuses one that a concurrent
    // re-enrollment stored meanwhile (Fabric CA's check for Idemix callers).
    if (isRevokedIdentity(identity)) {
      throw FabricCaError.authorization(CaErrorCode.REVOKED_ID, 'Enrollment ID is revoked, unable to process request');
    }
    return { identity, serial, aki };
  }

  /** Fabric CA's `handleEnroll`: checks the request and CSR, then signs. */
  private sign(identity: IdentityRecord, ctx: RequestContext): { certificate: IssuedCertificate; profile: string } {
    const body = ctx.requireJson();
    const csr = parseCsr(stringField(body, 'certificate_request'));
    const profile = stringField(body, 'profile');
    const subject = field(body, 'subject');
    const subjectCn =
      typeof subject === 'object' && subject !== null ? stringField(subject as JsonObject, 'CN') : undefined;
    if (csr.commonName !== identity.id || (subjectCn !== undefined && subjectCn !== identity.id)) {
      throw new FabricCaError(
        403,
        CaErrorCode.CN_NOT_ENROLLMENT_ID,
        'The CSR subject common name must equal the enrollment ID',
      );
    }
    if (csr.requestsCa || profile === 'ca') {
      if (attributeValue(identity, HF.INTERMEDIATE_CA) !== 'true') {
        throw FabricCaError.authorization(
          CaErrorCode.INVOKER_MISSING_ATTRIBUTE,
          `Enrolled failed: '${identity.id}' does not have '${HF.INTERMEDIATE_CA}'`,
        );
      }
      throw FabricCaError.badRequest(CaErrorCode.BAD_CSR, 'This CA does not issue intermediate CA certificates');
    }
    for (const [key, label, limit] of CSR_LIMITS) {
      const value = csr.subject[key];
      for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
        if (v.length > limit) {
          throw FabricCaError.badRequest(
            CaErrorCode.INVALID_CSR_INPUT,
            `CSR input validation failed: The ${label} '${v}' exceeds the maximum character limit of ${limit}`,
          );
        }
      }
    }
    const requests: AttributeRequest[] | undefined = objectArrayField(body, 'attr_reqs')?.map((r) => ({
      name: stringField(r, 'name'),
      optional: booleanField(r, 'optional'),
    }));
    let attributes: Map<string, string> | undefined;
    try {
      attributes = certificateAttributes(identity.attributes, requests);
    } catch (err) {
      if (!(err instanceof AttributeError)) throw err;
      throw new FabricCaError(500, CaErrorCode.UNKNOWN, `Failed to find requested attributes: ${err.message}`, {
        cause: err,
      });
    }
    const certificate = this.issuer.issue({
      csr,
      enrollmentId: identity.id,
      type: identity.type,
      affiliation: identity.affiliation,
      profile,
      hosts: stringArrayField(body, 'hosts'),
      attributes,
    });
    return { certificate, profile };
  }

  private enrollmentReply(certificate: IssuedCertificate): CaReply {
    return {
      status: 201,
      result: { Cert: Buffer.from(certificate.pem).toString('base64'), ServerInfo: this.info('') },
    };
  }
}
