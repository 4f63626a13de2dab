import { randomUUID } from 'node:crypto';
import type { VaultElement } from '../vault/vault-types';

/**
 * A FHIR R4 collection Bundle of whole resources, as the hospitals sent them. Each entry keeps the
 * delivery and segment it came from in `meta.source`, so a reader can verify it later.
 */
export function exportBundle(elements: readonly VaultElement[], now: Date): Record<string, unknown> {
  const entry = elements
    .filter((e) => e.element.kind === 'resource' && e.element.resource)
    .map((e) => {
      const resource = e.element.resource as Record<string, unknown>;
      const meta = { ...((resource['meta'] as Record<string, unknown> | undefined) ?? {}) };
      meta['source'] = `urn:phr-ledger:delivery:${e.deliveryId}#${e.segmentId}`;
      const id = typeof resource['id'] === 'string' ? resource['id'] : undefined;
      return {
        fullUrl: id ? `urn:uuid:${isUuid(id) ? id : randomUUID()}` : `urn:uuid:${randomUUID()}`,
        resource: { ...resource, meta },
      };
    });
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    type: 'collection',
    timestamp: now.toISOString(),
    entry,
  };
}

function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
