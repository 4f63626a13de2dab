/**
 * Which measurements the Records page shows as trends. Without a code search: the few a patient
 * follows over years (HbA1c, blood pressure, body weight, total cholesterol). With one: that code's
 * own trend, whatever it is, so any result measured again and again can be followed.
 *
 * A trend is defined by the codes it plots (one series each), not by the panel that holds them:
 * blood pressure is systolic 8480-6 and diastolic 8462-4, whether they come as components of the
 * LOINC panel 85354-9, of Synthea's 55284-4, or as Observations of their own.
 */
const LOINC = 'http://loinc.org';

export interface CodeRef {
  /** Absent: the code in any code system (a bare code in the search). */
  system?: string;
  code: string;
}

export interface SeriesDefinition {
  code: CodeRef;
  /** Absent for a single series: the trend's title says what it is. */
  label?: string;
}

export interface TrendDefinition {
  /** Stable, for tests and styling: "hba1c", or "code:<code>" for a searched code. */
  id: string;
  /** Absent: taken from the records (the code's own words). */
  title?: string;
  /** Codes a search may name to ask for this trend: panels and the measured codes. */
  codes: readonly CodeRef[];
  series: readonly SeriesDefinition[];
}

const loinc = (code: string): CodeRef => ({ system: LOINC, code });

export const FOLLOWED_TRENDS: readonly TrendDefinition[] = [
  { id: 'hba1c', title: 'HbA1c', codes: [loinc('4548-4')], series: [{ code: loinc('4548-4') }] },
  {
    id: 'blood-pressure',
    title: 'Blood pressure',
    // 85354-9 is LOINC's panel; Synthea writes 55284-4
    codes: [loinc('85354-9'), loinc('55284-4'), loinc('8480-6'), loinc('8462-4')],
    series: [
      { code: loinc('8480-6'), label: 'Systolic' },
      { code: loinc('8462-4'), label: 'Diastolic' },
    ],
  },
  { id: 'body-weight', title: 'Body weight', codes: [loinc('29463-7')], series: [{ code: loinc('29463-7') }] },
  {
    id: 'total-cholesterol',
    title: 'Total cholesterol',
    codes: [loinc('2093-3')],
    series: [{ code: loinc('2093-3') }],
  },
];

/** Does a coding ({system, code}) name this code? A CodeRef without a system takes any system. */
export function codeMatches(coding: { system?: unknown; code?: unknown }, ref: CodeRef): boolean {
  return coding.code === ref.code && (ref.system === undefined || coding.system === ref.system);
}

/** The trends to show for a search: the followed ones, or the searched code's. */
export function trendDefinitions(searched?: CodeRef): readonly TrendDefinition[] {
  if (searched === undefined) return FOLLOWED_TRENDS;
  // a code search that names a followed trend (or a panel of it) shows that trend whole
  const followed = FOLLOWED_TRENDS.filter((t) =>
    t.codes.some((c) => c.code === searched.code && (searched.system === undefined || searched.system === c.system)),
  );
  if (followed.length > 0) return followed;
  return [{ id: `code:${searched.code}`, codes: [searched], series: [{ code: searched }] }];
}
