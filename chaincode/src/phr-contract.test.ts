import { makeWorld } from './testing/world';

describe('PhrContract caller checks', () => {
  it('refuses functions missing from the rule table (closed by default)', async () => {
    const w = await makeWorld();
    const registry = w.registry as unknown as Record<string, unknown>;
    registry.Sneaky = async () => 'ok';
    await expect(w.ledger.invoke(w.registry, 'Sneaky', [], w.id.h1Admin)).rejects.toThrow(
      /FORBIDDEN: PatientRegistry:Sneaky is not open to any role/,
    );
  });
});
