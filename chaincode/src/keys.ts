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
} as const;

export const Indexes = {
  deliveryByPatient: 'patient~delivery',
  consentByPatient: 'patient~consent',
} as const;
