import { FhirError } from '@phr/common';
import { dateParamsRange, dateValueRange, ledgerBounds, UNBOUNDED } from './date-range';

const iso = (t: number) => new Date(t).toISOString();

describe('FHIR date search ranges', () => {
  it('takes a value as the range its precision names, in UTC', () => {
    const day = dateValueRange('2026-06-01');
    expect([iso(day.from), iso(day.to)]).toEqual(['2026-06-01T00:00:00.000Z', '2026-06-02T00:00:00.000Z']);
    const month = dateValueRange('2026-12');
    expect([iso(month.from), iso(month.to)]).toEqual(['2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
    const year = dateValueRange('2026');
    expect([iso(year.from), iso(year.to)]).toEqual(['2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z']);
    const second = dateValueRange('2026-06-01T10:00:05+02:00');
    expect([iso(second.from), iso(second.to)]).toEqual(['2026-06-01T08:00:05.000Z', '2026-06-01T08:00:06.000Z']);
    expect(dateValueRange('2026-06-01T10:00:05.250Z').to - dateValueRange('2026-06-01T10:00:05.250Z').from).toBe(1);
  });

  it('applies prefixes and ANDs repeated parameters', () => {
    const r = dateParamsRange([['ge2026-06-01'], ['lt2026-06-03']]);
    expect(ledgerBounds(r)).toEqual({ from: '2026-06-01T00:00:00.000Z', to: '2026-06-03T00:00:00.000Z' });
    expect(ledgerBounds(dateParamsRange([['gt2026-06-01']])).from).toBe('2026-06-02T00:00:00.000Z');
    expect(ledgerBounds(dateParamsRange([['le2026-06-01']]))).toEqual({ from: '', to: '2026-06-02T00:00:00.000Z' });
    expect(ledgerBounds(dateParamsRange([['eq2026-06-01']]))).toEqual(ledgerBounds(dateParamsRange([['2026-06-01']])));
    expect(dateParamsRange([])).toEqual(UNBOUNDED);
    const empty = dateParamsRange([['ge2026-06-03'], ['lt2026-06-01']]);
    expect(empty.from).toBeGreaterThanOrEqual(empty.to);
  });

  it('refuses what is not a FHIR date, unsupported prefixes and OR lists', () => {
    for (const bad of ['2026-13', '2026-02-30', '2026-06-01T10:00', 'yesterday', 'sa2026-06-01', 'ne2026']) {
      expect(() => dateParamsRange([[bad]])).toThrow(FhirError);
    }
    expect(() => dateParamsRange([['ge2026', 'le2027']])).toThrow(/one value per parameter/);
  });

  it('leaves bounds the ledger cannot take open', () => {
    expect(ledgerBounds(dateParamsRange([['le9999']]))).toEqual({ from: '', to: '' });
    expect(ledgerBounds(dateParamsRange([['ge0000']])).from).toBe('');
  });
});
