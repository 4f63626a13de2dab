import { buildDelivery } from './delivery-builder';

const observation = (code: string) => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code }] },
  valueQuantity: { value: 7.1, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' },
});

const resources = Array.from({ length: 40 }, (_, i) => ({
  entryIndex: i,
  resource: observation(`${1000 + i}-0`),
  sourceId: `obs-${i}`,
}));

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('buildDelivery ids', () => {
  it('gives the delivery (which the ledger sees) a random v4 id', () => {
    const built = buildDelivery(resources, 'pt-test', 'Hospital1MSP', new Date());
    expect(built.deliveryId).toMatch(UUID_V4);
    expect(built.payload.deliveryId).toBe(built.deliveryId);
  });

  it("gives a delivery's segments v8 ids side by side (a random prefix, then the index), with no clock in them", () => {
    const first = buildDelivery(resources, 'pt-test', 'Hospital1MSP', new Date());
    const ids = first.segments.map((s) => s.segmentId);
    for (const id of ids) expect(id).toMatch(UUID_V8);
    expect(new Set(ids).size).toBe(ids.length);
    // As std_element's element_id index sees them (`<segment>.<n>`, compared as text): in order, one prefix.
    expect([...ids].sort()).toEqual(ids);
    const prefix = (id: string) => id.slice(0, 28);
    expect(new Set(ids.map(prefix)).size).toBe(1);
    expect(ids.map((id) => parseInt(id.slice(28), 16))).toEqual(ids.map((_, i) => i));
    // Another delivery draws another prefix; nothing in it follows the time.
    const second = buildDelivery(resources, 'pt-test', 'Hospital1MSP', new Date());
    expect(prefix(second.segments[0]!.segmentId)).not.toBe(prefix(ids[0]!));
    const msHex = Date.now().toString(16).padStart(12, '0').slice(0, 8);
    expect(ids[0]!.replace(/-/g, '')).not.toContain(msHex);
    // The elements carry their segment's id.
    for (const s of first.segments) for (const e of s.elements) expect(e.id.startsWith(`${s.segmentId}.`)).toBe(true);
  });
});
