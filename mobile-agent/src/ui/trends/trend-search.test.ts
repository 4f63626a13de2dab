import { parseRecordsFilter } from '../records-search';
import { MemoryAgent } from '../testing/memory-agent';
import { sampleDelivery } from '../testing/sample-records';
import { observation } from './trend-test-data';
import { searchTrends, TRENDS_SCAN_LIMIT } from './trend-search';

const filter = (f: Partial<{ type: string; code: string; from: string; to: string }>) =>
  parseRecordsFilter({ type: '', code: '', from: '', to: '', ...f });

function agentWith(...resources: ReturnType<typeof observation>[]): MemoryAgent {
  return withObservations(MemoryAgent.withSamples(), resources);
}

function withObservations(agent: MemoryAgent, resources: ReturnType<typeof observation>[]): MemoryAgent {
  const { delivery, elements } = sampleDelivery('delivery-trends', 'Hospital1MSP', resources);
  agent.deliveryList.push(delivery);
  agent.elements.push(...elements);
  return agent;
}

describe('trends for a search', () => {
  // the samples hold one HbA1c (2025-01-15); these make it a trend, and start a glucose one
  const agent = () =>
    agentWith(
      observation({ code: '4548-4', value: 6.4, unit: '%', time: '2024-01-10T09:00:00Z' }),
      observation({ code: '4548-4', value: 6.6, unit: '%', time: '2023-01-10T09:00:00Z' }),
      observation({ code: '2339-0', value: 93, unit: 'mg/dL', time: '2024-01-10T09:00:00Z', text: 'Glucose' }),
      observation({ code: '2339-0', value: 101, unit: 'mg/dL', time: '2025-01-10T09:00:00Z', text: 'Glucose' }),
    );

  it('reads the Observations once, under the same dates, and shows the followed trends', async () => {
    const api = agent();
    const result = await searchTrends(api, filter({}));
    expect(result.truncated).toBe(false);
    expect(result.trends.map((t) => t.id)).toEqual(['hba1c']);
    expect(result.trends[0]?.values.map((v) => v.text)).toEqual(['6.6', '6.4', '6.1']);
    expect(api.callsOf('records')).toEqual([
      [{ resourceType: 'Observation', kind: 'resource', limit: TRENDS_SCAN_LIMIT + 1 }],
    ]);

    const dated = agent();
    const since2024 = await searchTrends(dated, filter({ from: '2024-01-01' }));
    expect(since2024.trends[0]?.values.map((v) => v.text)).toEqual(['6.4', '6.1']);
    expect(dated.callsOf('records')[0]?.[0]).toMatchObject({ from: expect.any(String) });
  });

  it('shows the searched code’s trend, whatever the code', async () => {
    const result = await searchTrends(agent(), filter({ code: '2339-0' }));
    expect(result.trends.map((t) => [t.id, t.title])).toEqual([['code:2339-0', 'Glucose']]);
    const hba1c = await searchTrends(agent(), filter({ code: 'http://loinc.org|4548-4' }));
    expect(hba1c.trends.map((t) => t.id)).toEqual(['hba1c']);
  });

  it('asks nothing when the search is for another type of record', async () => {
    const api = agent();
    expect(await searchTrends(api, filter({ type: 'Condition' }))).toEqual({ trends: [], truncated: false });
    expect(api.callsOf('records')).toEqual([]);
  });

  it('says so when the scan stopped at its limit', async () => {
    const many = Array.from({ length: TRENDS_SCAN_LIMIT + 1 }, (_, i) =>
      observation({
        code: '29463-7',
        value: 80,
        unit: 'kg',
        time: new Date(Date.UTC(2000, 0, 1) + i * 86_400_000).toISOString(),
      }),
    );
    const result = await searchTrends(withObservations(new MemoryAgent(), many), filter({}));
    expect(result.truncated).toBe(true);
    // the newest are read: the very first day is the one left out
    const values = result.trends.find((t) => t.id === 'body-weight')?.values ?? [];
    expect(values).toHaveLength(TRENDS_SCAN_LIMIT);
    expect(values[0]?.time).toBe('2000-01-02T00:00:00.000Z');
  });
});
