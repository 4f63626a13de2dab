import { AccessLogContract } from './access-log';
import { CommitmentsContract } from './commitments';
import { ConsentContract } from './consent';
import { CreditsContract } from './credits';
import { DirectoryContract } from './directory';
import { PatientRegistryContract } from './patient-registry';
import { ResearchContract } from './research';

export {
  AccessLogContract,
  CommitmentsContract,
  ConsentContract,
  CreditsContract,
  DirectoryContract,
  PatientRegistryContract,
  ResearchContract,
};
export type { ResearchOptOut, ResearchUseAnswer } from './research';
export { ChaincodeError } from './errors';
export type { PhrContract } from './phr-contract';

/** Loaded by fabric-chaincode-node; the first contract is the default one. */
export const contracts = [
  CommitmentsContract,
  PatientRegistryContract,
  ConsentContract,
  AccessLogContract,
  DirectoryContract,
  ResearchContract,
  CreditsContract,
];
