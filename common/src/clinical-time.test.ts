import { normalizeTime } from './clinical-time';

describe('normalizeTime', () => {
  it('normalizes times to sortable ISO 8601', () => {
    expect(normalizeTime('2015-02-07T13:28:17-05:00')).toBe('2015-02-07T18:28:17.000Z');
    expect(normalizeTime('2015-02')).toBe('2015-02');
    expect(normalizeTime('2015-02-07')).toBe('2015-02-07');
  });
});
