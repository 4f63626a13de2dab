/**
 * The research suite's population: every Synthea patient as a small bundle (the Patient, what it
 * refers to, its HbA1c results and two other observations), each with its own agent enrolled by
 * the doorman and its MRN linked at hospital1. And what an attacker may know of each of them: the
 * identifiers and values the dataset, the ledger and the logs must never carry.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent as Dispatcher } from 'undici';
import { knownIdentifiersFromBundle, type KnownIdentifiers } from '@phr/common';
import { mrnIdentifier, mrnOf, state, type SyntheaBundle } from './harness';
import { enrollLinkedAgent } from './patients';

export const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'synthea-r4');
export const PASSPHRASE = 'e2e passphrase, long enough';
export const HBA1C = { system: 'http://loinc.org', code: '4548-4' } as const;

export interface Member {
  /** The fixture's first and last name, e.g. Hilario_Barton. */
  name: string;
  home: string;
  pseudonym: string;
  bundle: SyntheaBundle;
  /** What an attacker may know of the patient: the dataset must hold none of it. */
  known: KnownIdentifiers;
  /** Lab values as the source wrote them, long enough not to turn up by chance: never on the ledger or in a log. */
  values: string[];
  /**
   * Names as the ledger and logs are searched for them: family names and whole names. A given name
   * alone may be a word of something else (Fabric's certificates name the state North Carolina).
   */
  fullNames: string[];
}

type Json = Record<string, unknown>;

export function patientFiles(): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.json') && !/^(hospital|practitioner)Information/.test(f))
    .sort();
}

function isHbA1c(r: Json): boolean {
  const coding = (r['code'] as { coding?: { system?: string; code?: string }[] } | undefined)?.coding ?? [];
  return coding.some((c) => c.system === HBA1C.system && c.code === HBA1C.code);
}

/** The patient's bundle, cut small, with its MRN suffixed by `tag` (new MRNs each run). */
export function researchBundle(file: string, tag: string): SyntheaBundle {
  const copy = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as SyntheaBundle;
  const mrn = mrnIdentifier(copy);
  mrn.value = `${mrn.value}-${tag}`;
  const keep = copy.entry.filter((e) =>
    ['Patient', 'Encounter', 'Organization', 'Practitioner', 'Location'].includes(e.resource.resourceType),
  );
  const observations = copy.entry.filter((e) => e.resource.resourceType === 'Observation');
  const hba1c = observations.filter((e) => isHbA1c(e.resource as unknown as Json)).slice(0, 3);
  const others = observations.filter((e) => !isHbA1c(e.resource as unknown as Json)).slice(0, 2);
  return { ...copy, entry: [...keep, ...hba1c, ...others] };
}

/** What an attacker may know of a patient (common's reading of its source bundle), and its lab values. */
export function knownOf(bundle: SyntheaBundle): Pick<Member, 'known' | 'values' | 'fullNames'> {
  const values = bundle.entry
    .map((e) => e.resource as unknown as Json)
    .filter((r) => r['resourceType'] === 'Observation')
    .map((r) => (r['valueQuantity'] as { value?: number } | undefined)?.value)
    .filter((v): v is number => typeof v === 'number')
    .map(String)
    .filter((v) => v.length >= 8);
  const patient = bundle.entry.find((e) => e.resource.resourceType === 'Patient')?.resource as unknown as Json;
  const fullNames = ((patient['name'] as { family?: string; given?: string[] }[] | undefined) ?? []).flatMap((n) =>
    n.family ? [n.family, [...(n.given ?? []), n.family].join(' ')] : [],
  );
  return { known: knownIdentifiersFromBundle(bundle), values, fullNames };
}

/** Enrolls a patient's agent and links its MRN at `hospital` (the admin uses the agent's one-time code). */
export async function enrollMember(file: string, tag: string, hospital: string, admin: Dispatcher): Promise<Member> {
  const name = file.split('_').slice(0, -1).join('_');
  const bundle = researchBundle(file, tag);
  const home = join(state().dir, 'research', `${name}-${tag}`);
  const { pseudonym, agent } = await enrollLinkedAgent({
    name,
    home,
    passphrase: PASSPHRASE,
    hospital,
    identifier: mrnOf(bundle),
    admin,
  });
  await agent.close();
  return { name, home, pseudonym, bundle, ...knownOf(bundle) };
}
