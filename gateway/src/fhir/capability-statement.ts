import { ACCEPTED_BUNDLE_TYPES } from '../ingest/ingest-service';

export interface CapabilityOptions {
  baseUrl: string;
  hospitalName: string;
  softwareVersion: string;
  startedAt: string;
}

/**
 * What this gateway really does, and nothing more: system-level transaction and batch (and
 * collection bundles posted the same way), FHIR JSON only, mutual TLS. It stores no resources
 * for reading back, so no resource-level interactions are listed.
 */
export function capabilityStatement(o: CapabilityOptions): Record<string, unknown> {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: o.startedAt,
    publisher: o.hospitalName,
    kind: 'instance',
    software: { name: 'PHR Ledger gateway', version: o.softwareVersion },
    implementation: { description: `PHR Ledger FHIR gateway of ${o.hospitalName}`, url: o.baseUrl },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        documentation:
          `POST a Bundle of type ${ACCEPTED_BUNDLE_TYPES.join(', ')} to the base URL. transaction and collection bundles ` +
          'are all-or-nothing; batch entries succeed or fail one by one. Each accepted bundle is one delivery to one ' +
          'patient: one ledger commitment (a salted Merkle root), receipt in Bundle.meta.extension.',
        security: {
          cors: false,
          service: [
            {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'Certificates' },
              ],
              text: 'Mutual TLS with a client certificate issued by the hospital Fabric CA (role in the phr.role attribute)',
            },
          ],
          description: 'Every request needs a client certificate; the role attribute decides what it may do.',
        },
        interaction: [
          { code: 'transaction', documentation: 'all-or-nothing; also used for Bundle.type collection' },
          { code: 'batch', documentation: 'entries are validated and accepted one by one' },
        ],
      },
    ],
  };
}
