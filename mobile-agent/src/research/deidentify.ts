/**
 * HIPAA Safe Harbor for what one participant shares with one study (issue 16 item 3), pure so it
 * can be tested on its own and shown as a preview that is exactly what would be sent.
 *
 * - Only coded elements with a wanted code leave; a whole-resource element never does (it holds
 *   names, identifiers, addresses, narrative), the Patient's included.
 * - An element with nothing to change keeps its salt, Merkle path and root: the researcher proves
 *   it against the ledger as committed.
 * - Otherwise it is `changed`, without id, salt or proof, and says what changed: its clinical time
 *   cut to the year or shifted by the per-patient-per-study offset; a string value dropped (free
 *   text, and a coded value's text may name things); a display that does not read as a code label
 *   dropped. Numbers, booleans, units, codes and the element's path stay.
 * - An element that would go unchanged but whose delivery root is unknown (an orphan in the vault)
 *   is withheld, not sent: listed so the preview can say it is not shareable.
 * - Demographics come from the Patient resource in their Safe Harbor forms, only those wanted.
 */
import {
  ageInYears,
  dateShiftDays,
  isCodeLabel,
  postalCode3,
  safeHarborAge,
  shiftDate,
  yearOf,
  type ChangedExtractElement,
  type DataElement,
  type ElementChange,
  type ExtractDemographics,
  type ExtractElement,
  type OfferTerms,
} from '@phr/common';
import type { VaultElement } from '../vault/vault-types';
import { hasWantedCode, type PatientFacts } from './matching';

export interface DeidentifyInput {
  offer: Pick<OfferTerms, 'offerId' | 'wanted' | 'dates'>;
  /** The vault's elements (any kind; only wanted coded ones are taken). */
  elements: readonly VaultElement[];
  /** Merkle root of each delivery the elements come from, by delivery id. */
  roots: ReadonlyMap<string, string>;
  patient: PatientFacts;
  /** The device's date-shift secret: it never leaves the device. */
  shiftSecret: Uint8Array;
  now: Date;
}

export interface Deidentified {
  demographics: ExtractDemographics;
  elements: ExtractElement[];
  /** The deliveries whose roots the unchanged elements prove against, sorted. */
  deliveryIds: string[];
  /**
   * Wanted elements that are not sent: unchanged ones whose delivery (and so Merkle root) the
   * vault no longer holds, so they could not be proven. Shown in the preview as not shareable.
   */
  withheld: DataElement[];
}

/** Most elements a study gets from one participant: bounds the extract well under the gateway's 2 MB. */
export const MAX_EXTRACT_ELEMENTS = 2000;

export function deidentify(input: DeidentifyInput): Deidentified {
  const { offer } = input;
  const shift = offer.dates === 'shift' ? dateShiftDays(input.shiftSecret, offer.offerId) : 0;
  const elements: ExtractElement[] = [];
  const deliveryIds = new Set<string>();
  const withheld: DataElement[] = [];
  const wanted = input.elements.filter(
    (v) => v.element.kind === 'coded' && hasWantedCode(offer.wanted.codes, v.element),
  );
  for (const stored of wanted.slice(0, MAX_EXTRACT_ELEMENTS)) {
    const out = deidentifyElement(stored.element, offer.dates, shift);
    if (out.changes.length === 0) {
      const root = input.roots.get(stored.deliveryId);
      // An element whose delivery the vault no longer knows cannot be proven against the ledger,
      // and sending it changed would hide that: it stays home, and the preview says so.
      if (root === undefined) {
        withheld.push(stored.element);
        continue;
      }
      elements.push({ status: 'unchanged', element: stored.element, salt: stored.salt, proof: stored.proof, root });
      deliveryIds.add(stored.deliveryId);
    } else {
      elements.push(out);
    }
  }
  return {
    demographics: demographicsOf(input.patient, offer.wanted.demographics, input.now),
    elements,
    deliveryIds: [...deliveryIds].sort(),
    withheld,
  };
}

/** One coded element in its Safe Harbor form; `changes` empty when nothing had to change. */
export function deidentifyElement(
  e: DataElement,
  dates: OfferTerms['dates'],
  shiftDays: number,
): ChangedExtractElement {
  const changes: ElementChange[] = [];
  const element: ChangedExtractElement['element'] = { kind: e.kind, resourceType: e.resourceType, path: e.path };
  if (e.system !== undefined) element.system = e.system;
  if (e.code !== undefined) element.code = e.code;
  if (e.display !== undefined) {
    if (isCodeLabel(e.display)) element.display = e.display;
    else changes.push({ field: 'display', rule: 'removed' });
  }
  if (e.value !== undefined) {
    if (typeof e.value === 'string') changes.push({ field: 'value', rule: 'removed' });
    else element.value = e.value;
  }
  if (e.unit !== undefined) element.unit = e.unit;
  if (e.time !== undefined) {
    if (dates === 'year') {
      const year = yearOf(e.time);
      if (year !== undefined) element.time = year;
      changes.push({ field: 'time', rule: 'year' });
    } else {
      try {
        element.time = shiftDate(e.time, shiftDays);
      } catch {
        // a time that is not a date cannot be shifted: it does not leave at all
      }
      changes.push({ field: 'time', rule: 'shift' });
    }
  }
  return { status: 'changed', element, changes };
}

export function demographicsOf(
  patient: PatientFacts,
  wanted: readonly OfferTerms['wanted']['demographics'][number][],
  now: Date,
): ExtractDemographics {
  const out: ExtractDemographics = {};
  if (wanted.includes('age')) {
    const age = ageInYears(patient.birthDate, now);
    if (age !== undefined) out.age = safeHarborAge(age);
  }
  if (wanted.includes('gender') && patient.gender !== undefined) out.gender = patient.gender;
  if (wanted.includes('postalCode3') && patient.postalCode !== undefined) {
    out.postalCode3 = postalCode3(patient.postalCode);
  }
  return out;
}
