import { fabricX509Id, generateEncryptionKeyPair, identityKey, PATIENTS_MSP_ID, type PatientRecord } from '@phr/common';

/** The ledger's record of a patient enrolled with `certificatePem`, with a fresh X25519 key. */
export function registeredPatient(pseudonym: string, certificatePem: string, at: string): PatientRecord {
  return {
    docType: 'patient',
    pseudonym,
    owner: identityKey(PATIENTS_MSP_ID, fabricX509Id(certificatePem)),
    encryptionPublicKey: generateEncryptionKeyPair('X25519').publicKeyPem,
    encryptionAlgorithm: 'X25519',
    signingCertificate: certificatePem,
    keyVersion: 1,
    registeredAt: at,
    updatedAt: at,
  };
}
