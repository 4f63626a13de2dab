import { freePorts, testHospital, testTopology } from './harness';

/** The suites' topologies are drawn in several calls; a port handed out twice starts two processes on one port. */
describe('test ports', () => {
  it('freePorts never hands out a port twice in one process, across calls', async () => {
    const seen: number[] = [];
    for (let i = 0; i < 300; i++) seen.push(...(await freePorts(1 + (i % 3))));
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('a topology and a hospital added later share no port', async () => {
    const topology = await testTopology();
    const extra = await testHospital(3);
    const ports =
      JSON.stringify([topology, extra]).match(/"(?:port|adminPort|operationsPort|chaincodeListenPort)":\d+/g) ?? [];
    const numbers = ports.map((p) => Number(p.split(':')[1]));
    expect(numbers.length).toBe(13 + 2 * 7 + 7);
    expect(new Set(numbers).size).toBe(numbers.length);
  });
});
