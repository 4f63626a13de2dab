import type { IdentityAttribute, IdentityRecord } from './ca-database';
import { goJson } from './envelope';

/** Fabric's attribute extension: raw UTF-8 JSON `{"attrs":{...}}`, not DER-wrapped, non-critical. */
export const ATTRIBUTE_EXTENSION_OID = '1.2.3.4.5.6.7.8.1';

/** Reserved attributes Fabric CA gives every registered identity and bootstrap registrars. */
export const HF = {
  ENROLLMENT_ID: 'hf.EnrollmentID',
  TYPE: 'hf.Type',
  AFFILIATION: 'hf.Affiliation',
  REGISTRAR_ROLES: 'hf.Registrar.Roles',
  REGISTRAR_DELEGATE_ROLES: 'hf.Registrar.DelegateRoles',
  REGISTRAR_ATTRIBUTES: 'hf.Registrar.Attributes',
  REVOKER: 'hf.Revoker',
  INTERMEDIATE_CA: 'hf.IntermediateCA',
  GEN_CRL: 'hf.GenCRL',
  AFFILIATION_MGR: 'hf.AffiliationMgr',
} as const;

/** What fabric-ca-server gives its `-b` bootstrap identity: every registrar right, none in certificates. */
export const BOOTSTRAP_ATTRIBUTES: readonly IdentityAttribute[] = [
  { name: HF.REGISTRAR_ROLES, value: '*', ecert: false },
  { name: HF.REGISTRAR_DELEGATE_ROLES, value: '*', ecert: false },
  { name: HF.REVOKER, value: 'true', ecert: false },
  { name: HF.INTERMEDIATE_CA, value: 'true', ecert: false },
  { name: HF.GEN_CRL, value: 'true', ecert: false },
  { name: HF.REGISTRAR_ATTRIBUTES, value: '*', ecert: false },
  { name: HF.AFFILIATION_MGR, value: 'true', ecert: false },
];

const FIXED = new Set<string>([HF.ENROLLMENT_ID, HF.TYPE, HF.AFFILIATION]);
const BOOLEAN = new Set<string>([HF.REVOKER, HF.INTERMEDIATE_CA, HF.GEN_CRL, HF.AFFILIATION_MGR]);
const LIST = new Set<string>([HF.REGISTRAR_ROLES, HF.REGISTRAR_DELEGATE_ROLES, HF.REGISTRAR_ATTRIBUTES]);

export interface AttributeRequest {
  name: string;
  /** When false, enrollment fails if the identity lacks the attribute. */
  optional: boolean;
}

/** Why an attribute request or a registration cannot be satisfied. */
export class AttributeError extends Error {
  override readonly name = 'AttributeError';
  constructor(
    readonly code: 'MISSING_REQUIRED' | 'NOT_PERMITTED',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The attributes a new certificate carries: those requested (`attr_reqs`, even an empty list), else
 * every attribute registered with `ecert`; undefined when the certificate gets no extension.
 */
export function certificateAttributes(
  registered: readonly IdentityAttribute[],
  requests: readonly AttributeRequest[] | undefined,
): Map<string, string> | undefined {
  const wanted = requests ?? registered.filter((a) => a.ecert).map((a) => ({ name: a.name, optional: false }));
  if (requests === undefined && wanted.length === 0) return undefined;
  const chosen = new Map<string, string>();
  const missing: string[] = [];
  for (const request of wanted) {
    const attribute = registered.find((a) => a.name === request.name);
    if (attribute) chosen.set(request.name, attribute.value);
    else if (!request.optional) missing.push(request.name);
  }
  if (missing.length > 0) {
    throw new AttributeError(
      'MISSING_REQUIRED',
      `The following required attributes are missing: [${missing.join(' ')}]`,
    );
  }
  return chosen;
}

/**
 * The extension's bytes exactly as Go's `json.Marshal` writes them: keys in byte order, `<`, `>`,
 * `&`, U+2028 and U+2029 escaped.
 */
export function attributeExtensionValue(attrs: ReadonlyMap<string, string>): Buffer {
  const keys = [...attrs.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const body = keys.map((k) => `${goJson(k)}:${goJson(attrs.get(k) ?? '')}`).join(',');
  return Buffer.from(`{"attrs":{${body}}}`, 'utf8');
}

function attributeValue(identity: IdentityRecord, name: string): string | undefined {
  return identity.attributes.find((a) => a.name === name)?.value;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function matchesName(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? name.startsWith(p.replace(/\*+$/, '')) : name === p));
}

function isSubset(small: string, big: string): boolean {
  const bigSet = big.split(',').map((v) => v.toLowerCase());
  return small
    .split(',')
    .filter((v) => v !== '')
    .every((v) => bigSet.includes(v.toLowerCase()));
}

function parseBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/**
 * Fabric CA's `attributeIsTrue`: the identity has the attribute and its value is a Go boolean
 * that is true (`hf.Revoker`, `hf.GenCRL`, …).
 */
export function attributeIsTrue(identity: IdentityRecord, name: string): boolean {
  const value = attributeValue(identity, name);
  return value !== undefined && parseBool(value) === true;
}

/** Whether `registrar` may register identities of `type` (its `hf.Registrar.Roles`). */
export function checkMayActOnType(registrar: IdentityRecord, type: string): void {
  const roles = attributeValue(registrar, HF.REGISTRAR_ROLES) ?? '';
  if (roles === '') throw new AttributeError('NOT_PERMITTED', `'${registrar.id}' is not allowed to manage users`);
  const types = list(roles);
  if (!types.includes('*') && !types.includes(type)) {
    throw new AttributeError('NOT_PERMITTED', `Registrar does not have authority to act on type '${type}'`);
  }
}

/** Whether `registrar`'s affiliation contains `affiliation` ("" is the root and contains all). */
export function checkMayActOnAffiliation(registrar: IdentityRecord, affiliation: string): void {
  const own = registrar.affiliation;
  if (own === '' || affiliation === own || affiliation.startsWith(`${own}.`)) return;
  throw new AttributeError('NOT_PERMITTED', `Caller does not have authority to act on affiliation '${affiliation}'`);
}

/**
 * Fabric CA's rules for the attributes a registrar may give (`lib/attr/attribute.go`): each name
 * must match the registrar's `hf.Registrar.Attributes`; `hf.EnrollmentID`, `hf.Type` and
 * `hf.Affiliation` are set by the CA only; the boolean and list `hf.` attributes need the registrar
 * to hold them (and, for lists, a superset of the values); other `hf.` names are reserved.
 */
export function checkMayRegisterAttributes(registrar: IdentityRecord, requested: readonly IdentityAttribute[]): void {
  if (requested.length === 0) return;
  const registrable = list(attributeValue(registrar, HF.REGISTRAR_ATTRIBUTES) ?? '');
  if (registrable.length === 0) {
    throw new AttributeError('NOT_PERMITTED', `Registrar does not have any values for '${HF.REGISTRAR_ATTRIBUTES}'`);
  }
  for (const attribute of requested) {
    const { name, value } = attribute;
    if (!matchesName(name, registrable)) {
      throw new AttributeError('NOT_PERMITTED', `Attribute '${name}' is not part of the registrar's attribute list`);
    }
    if (FIXED.has(name)) throw new AttributeError('NOT_PERMITTED', `Cannot register fixed value attribute '${name}'`);
    if (!name.startsWith('hf.')) continue;
    if (!BOOLEAN.has(name) && !LIST.has(name)) {
      throw new AttributeError(
        'NOT_PERMITTED',
        `'${name}' uses the reserved prefix 'hf.' but is not a supported attribute`,
      );
    }
    const own = attributeValue(registrar, name);
    if (own === undefined) {
      throw new AttributeError(
        'NOT_PERMITTED',
        `Attribute '${name}' requires ownership but the registrar does not own it`,
      );
    }
    if (value === '') continue;
    if (BOOLEAN.has(name)) {
      if (parseBool(own) !== true) throw new AttributeError('NOT_PERMITTED', `Registrar has 'false' for '${name}'`);
      if (parseBool(value) === undefined) throw new AttributeError('NOT_PERMITTED', `'${value}' is not a boolean`);
    } else if (name === HF.REGISTRAR_ATTRIBUTES) {
      for (const v of list(value)) {
        if (!matchesName(v, list(own))) throw new AttributeError('NOT_PERMITTED', `Cannot delegate attribute '${v}'`);
        if (v.startsWith('hf.') && !requested.some((a) => a.name === v)) {
          throw new AttributeError('NOT_PERMITTED', `'${v}' is delegated but not registered with the identity`);
        }
      }
    } else if (!(list(own).includes('*') && name !== HF.REGISTRAR_ATTRIBUTES) && !isSubset(value, own)) {
      throw new AttributeError('NOT_PERMITTED', `The requested values for '${name}' exceed the registrar's`);
    }
  }
}
