import { randomInt, X509Certificate } from 'node:crypto';
import {
  AttributeError,
  BOOTSTRAP_ATTRIBUTES,
  certificateAttributes,
  checkMayActOnAffiliation,
  checkMayActOnType,
  checkMayRegisterAttributes,
  HF,
  type AttributeRequest,
} from './attributes';
import type { CaDatabase, IdentityAttribute, IdentityRecord, IssuedCertificate } from './ca-database';
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
  event: 'enrolled' | 'reenrolled' | 'registered' | 'bootstrapped';
  id: string;
  by?: string;
  type?: string;
  profile?: string;
  serial?: string;
}

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

/**
 * One Fabric CA: its registry and certificate store, its issuer, and the handlers of `cainfo`,
 * `enroll`, `reenroll` and `register` with Fabric CA's checks, in Fabric CA's order.
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
    const reached = () =>
      FabricCaError.authentication(
        CaErrorCode.INVALID_PASS,
        `Login failure: The identity ${identity.id} has already enrolled ${identity.maxEnrollments} times, it has reached its maximum enrollment allowance`,
      );
    if (identity.maxEnrollments !== -1 && identity.enrollments >= identity.maxEnrollments) throw reached();
    const { certificate, profile } = this.sign(identity, ctx);
    if (!this.db.recordEnrollment(identity.id, certificate)) throw reached();
    this.onEvent({ event: 'enrolled', id: identity.id, type: identity.type, profile, serial: certificate.serial });
    return this.enrollmentReply(certificate);
  }

  async reenroll(ctx: RequestContext): Promise<CaReply> {
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
        CaErrorCode.CERT_NOT_FOUND,
        'The certificate in the authorization header is revoked',
      );
    }
    const id = readName(parseCertificate(certificate.raw).tbsCertificate.subject).CN ?? '';
    const identity = this.db.getIdentity(id);
    if (!identity) throw FabricCaError.authentication(CaErrorCode.GETTING_USER, 'Failed to get user');
    return identity;
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
