import { AccessLogContract } from './access-log';
import { CommitmentsContract } from './commitments';
import { ConsentContract } from './consent';
import { DirectoryContract } from './directory';
import { PatientRegistryContract } from './patient-registry';

export { AccessLogContract, CommitmentsContract, ConsentContract, DirectoryContract, PatientRegistryContract };
export { ChaincodeError } from './errors';
export type { PhrContract } from './phr-contract';

/** Loaded by fabric-chaincode-node; the first contract is the default one. */
export const contracts = [
  CommitmentsContract,
  PatientRegistryContract,
  ConsentContract,
  AccessLogContract,
  DirectoryContract,
];
