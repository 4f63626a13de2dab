import { PATIENTS_MSP_ID } from '@phr/common';
import { AccessLogContract } from '../access-log';
import { CommitmentsContract } from '../commitments';
import { ConsentContract } from '../consent';
import { CreditsContract } from '../credits';
import { DirectoryContract } from '../directory';
import { PatientRegistryContract } from '../patient-registry';
import { ResearchContract } from '../research';
import { FakeLedger } from './fake-ledger';
import { caCertificatePem, makeIdentity, type SigningTestIdentity } from './identities';

export const PSEUDONYM_A = 'ptaaaaaaaaaaaaaaaaaaaaaaaaaa';
export const PSEUDONYM_B = 'ptbbbbbbbbbbbbbbbbbbbbbbbbbb';
export const X25519_KEY = 'MCowBQYDK2VuAyEA' + 'q'.repeat(43) + '=';
export const ROOT = 'ab'.repeat(32);

export interface World {
  ledger: FakeLedger;
  registry: PatientRegistryContract;
  commitments: CommitmentsContract;
  consent: ConsentContract;
  accessLog: AccessLogContract;
  directory: DirectoryContract;
  research: ResearchContract;
  credits: CreditsContract;
  id: Record<
    | 'h1Gateway'
    | 'h2Gateway'
    | 'h1Admin'
    | 'h2Admin'
    | 'h1Researcher'
    | 'h2Clinician'
    | 'h2Emergency'
    | 'h2Researcher'
    | 'patientA'
    | 'patientB'
    | 'hospitalPosingAsPatient'
    | 'patientPosingAsGateway'
    | 'noRole',
    SigningTestIdentity
  >;
  /** PEM root of each organisation's test CA, the issuer of its identities above. */
  caCertificate: Record<'hospital1' | 'hospital2' | 'patients', string>;
}

export async function makeWorld(): Promise<World> {
  const id = {
    h1Gateway: await makeIdentity('Hospital1MSP', 'gateway', { 'phr.role': 'hospital-gateway' }),
    h2Gateway: await makeIdentity('Hospital2MSP', 'gateway', { 'phr.role': 'hospital-gateway' }),
    h1Admin: await makeIdentity('Hospital1MSP', 'admin', { 'phr.role': 'admin' }),
    h2Admin: await makeIdentity('Hospital2MSP', 'admin', { 'phr.role': 'admin' }),
    h1Researcher: await makeIdentity('Hospital1MSP', 'lab', { 'phr.role': 'researcher' }),
    h2Clinician: await makeIdentity('Hospital2MSP', 'dr-who', { 'phr.role': 'clinician' }),
    h2Emergency: await makeIdentity('Hospital2MSP', 'dr-er', { 'phr.role': 'clinician', 'phr.emergency': 'true' }),
    h2Researcher: await makeIdentity('Hospital2MSP', 'lab', { 'phr.role': 'researcher' }),
    patientA: await makeIdentity(PATIENTS_MSP_ID, 'patient-a', { 'phr.role': 'patient' }),
    patientB: await makeIdentity(PATIENTS_MSP_ID, 'patient-b', { 'phr.role': 'patient' }),
    hospitalPosingAsPatient: await makeIdentity('Hospital1MSP', 'mallory', { 'phr.role': 'patient' }),
    patientPosingAsGateway: await makeIdentity(PATIENTS_MSP_ID, 'eve', { 'phr.role': 'hospital-gateway' }),
    noRole: await makeIdentity('Hospital1MSP', 'plain', {}),
  };
  return {
    ledger: new FakeLedger(),
    registry: new PatientRegistryContract(),
    commitments: new CommitmentsContract(),
    consent: new ConsentContract(),
    accessLog: new AccessLogContract(),
    directory: new DirectoryContract(),
    research: new ResearchContract(),
    credits: new CreditsContract(),
    id,
    caCertificate: {
      hospital1: await caCertificatePem('Hospital1MSP'),
      hospital2: await caCertificatePem('Hospital2MSP'),
      patients: await caCertificatePem(PATIENTS_MSP_ID),
    },
  };
}

/** Registers patients A and B. */
export async function withPatients(w: World): Promise<World> {
  await w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_A, X25519_KEY, 'X25519'], w.id.patientA);
  await w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_B, X25519_KEY, 'X25519'], w.id.patientB);
  return w;
}
