import { PULL_ANSWER_CONTENT_TYPE, PULL_RECEIPT_EXTENSION_URL } from '@phr/common';
import type { StoredPull } from './pull-store';

/**
 * The searchset a requester gets: one Binary holding the answer sealed to the requester's key.
 * Only the requester's client can open it and check every element against the ledger.
 */
export function pullBundle(pull: StoredPull): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    meta: {
      lastUpdated: pull.updatedAt,
      extension: [
        {
          url: PULL_RECEIPT_EXTENSION_URL,
          extension: [
            { url: 'requestId', valueString: pull.requestId },
            { url: 'status', valueCode: 'answered' },
            { url: 'breakGlass', valueBoolean: pull.breakGlass },
          ],
        },
      ],
    },
    entry: [
      {
        fullUrl: `urn:uuid:${pull.requestId}`,
        resource: {
          resourceType: 'Binary',
          contentType: PULL_ANSWER_CONTENT_TYPE,
          data: Buffer.from(pull.answer ?? '', 'utf8').toString('base64'),
        },
        search: { mode: 'match' },
      },
    ],
  };
}
