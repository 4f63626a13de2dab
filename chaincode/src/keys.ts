/** State key layout, in one place. Plain keys carry a type prefix; `~` names composite indexes. */
export const Keys = {
  patient: (pseudonym: string) => `patient:${pseudonym}`,
  patientOwner: (identity: string) => `patient-owner:${identity}`,
  delivery: (deliveryId: string) => `delivery:${deliveryId}`,
  consent: (consentId: string) => `consent:${consentId}`,
  accessEvent: (pseudonym: string, at: string, eventId: string) => `access:${pseudonym}:${at}:${eventId}`,
  accessEventId: (eventId: string) => `access-id:${eventId}`,
  hospital: (mspId: string) => `hospital:${mspId}`,
  /** Range bounds for one patient's access events between two ISO instants. */
  accessRange: (pseudonym: string, from: string, to: string) =>
    [`access:${pseudonym}:${from}`, `access:${pseudonym}:${to}`] as const,
  hospitalRange: ['hospital:', 'hospital;'] as const,

  researchOffer: (offerId: string) => `research-offer:${offerId}`,
  researchOfferRange: ['research-offer:', 'research-offer;'] as const,
  participation: (participationId: string) => `research-participation:${participationId}`,
  /** The one participation a patient may hold in an offer: its id. */
  participant: (offerId: string, pseudonym: string) => `research-participant:${offerId}:${pseudonym}`,
  researchOptOut: (pseudonym: string) => `research-opt-out:${pseudonym}`,
  researchExtract: (extractId: string) => `research-extract:${extractId}`,
  researchUse: (useId: string) => `research-use:${useId}`,

  creditAccount: (accountId: string) => `credit-account:${accountId}`,
  creditEntry: (accountId: string, at: string, entryId: string) => `credit-entry:${accountId}:${at}:${entryId}`,
  /** Range bounds for one account's statement, oldest first. */
  creditEntryRange: (accountId: string) => [`credit-entry:${accountId}:`, `credit-entry:${accountId};`] as const,
  /** A funding entry by its caller-chosen id (Credits.Fund's retries), holding the entry's key. */
  creditFunding: (entryId: string) => `credit-fund:${entryId}`,
} as const;

export const Indexes = {
  deliveryByPatient: 'patient~delivery',
  consentByPatient: 'patient~consent',
  participationByOffer: 'offer~participation',
  participationByPatient: 'patient~participation',
  extractMember: 'extract~patient',
} as const;
