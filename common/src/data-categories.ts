/**
 * The coarse data categories a delivery is tagged with on the ledger and a consent's scope can
 * name. The vocabulary is small and fixed so that consents can name it and the ledger learns
 * little: the category says "laboratory", never which test. It lives here because the gateway
 * (which assigns categories) and the patient's agent (whose consent form offers them) must agree.
 */
export const DATA_CATEGORIES = [
  'activity',
  'administrative',
  'allergy',
  'care-plan',
  'claim',
  'condition',
  'demographics',
  'device',
  'diagnostic-report',
  'document',
  'encounter',
  'exam',
  'family-history',
  'imaging',
  'immunization',
  'laboratory',
  'medication',
  'other',
  'procedure',
  'social-history',
  'survey',
  'therapy',
  'vital-signs',
] as const;
export type DataCategory = (typeof DATA_CATEGORIES)[number];
