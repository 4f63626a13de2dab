import { X509Certificate, randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { CaClientError, enrollToMsp, parseAttributes, registerIdentity, type CaEndpoint } from './ca-enrollment';
import type { Topology } from './topology';

/** One identity the network needs, issued by its organisation's CA. */
export interface IdentitySpec {
  org: string;
  name: string;
  /** Fabric CA identity type: it becomes the certificate's NodeOU. */
  type: 'client' | 'peer' | 'admin' | 'orderer';
  /** `name=value:ecert,…` as the Go CLI's --id.attrs reads it. */
  attrs: string;
  /** SANs of the signing and TLS certificates. */
  hosts: string[];
  /** What the step line says it is for. */
  label: string;
}

const local = (host: string) => [...new Set([host, 'localhost', '127.0.0.1'])];

/** Every identity `network-up` enrolls, in order: orderers, hospitals' nodes and users, the patients' admin. */
export function networkIdentities(t: Topology): IdentitySpec[] {
  const out: IdentitySpec[] = [];
  for (const n of t.orderers.nodes) {
    out.push({
      org: 'orderer',
      name: n.name,
      type: 'orderer',
      attrs: '',
      hosts: local(n.host),
      label: `orderer/${n.name}`,
    });
  }
  out.push({
    org: 'orderer',
    name: 'orgadmin',
    type: 'admin',
    attrs: '',
    hosts: local('localhost'),
    label: 'orderer/orgadmin',
  });
  for (const h of t.hospitals) {
    out.push(
      { org: h.name, name: 'peer0', type: 'peer', attrs: '', hosts: local(h.peer.host), label: `${h.name}/peer0` },
      {
        org: h.name,
        name: 'orgadmin',
        type: 'admin',
        attrs: 'phr.role=admin:ecert',
        hosts: ['localhost'],
        label: `${h.name}/orgadmin (role admin)`,
      },
      {
        org: h.name,
        name: 'gateway',
        type: 'client',
        attrs: 'phr.role=hospital-gateway:ecert',
        hosts: local(h.gateway.host),
        label: `${h.name}/gateway (role hospital-gateway, TLS for the FHIR gateway)`,
      },
      {
        org: h.name,
        name: 'ehr',
        type: 'client',
        attrs: 'phr.role=ehr:ecert',
        hosts: ['localhost'],
        label: `${h.name}/ehr (role ehr: an EHR system's client certificate)`,
      },
      {
        org: h.name,
        name: 'chaincode',
        type: 'client',
        attrs: '',
        hosts: local(h.chaincodeServer.host),
        label: `${h.name}/chaincode (TLS server)`,
      },
    );
  }
  out.push({
    org: 'patients',
    name: 'orgadmin',
    type: 'admin',
    attrs: '',
    hosts: ['localhost'],
    label: 'patients/orgadmin',
  });
  return out;
}

/** The NodeOUs file every MSP folder of the network carries: roles come from the CA's OU. */
export const NODE_OUS_YAML = `NodeOUs:
  Enable: true
  ClientOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: client }
  PeerOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: peer }
  AdminOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: admin }
  OrdererOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: orderer }
`;

/** The state folder's layout for organisations (as lib.sh's org_dir / id_dir). */
export class OrgFolders {
  constructor(readonly stateDir: string) {}
  org(org: string): string {
    return join(this.stateDir, 'orgs', org);
  }
  identity(org: string, name: string): string {
    return join(this.org(org), 'identities', name);
  }
  caCert(org: string): string {
    return join(this.org(org), 'ca', 'ca-cert.pem');
  }
  registrarMsp(org: string): string {
    return join(this.org(org), 'ca-client', 'msp');
  }
  /** A random secret kept in orgs/ORG/secrets/NAME (0600), created once (as lib.sh's secret_for). */
  secret(org: string, name: string): string {
    const dir = join(this.org(org), 'secrets');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const file = join(dir, name);
    if (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') {
      const value = randomBytes(24).toString('base64').replace(/[/+=]/g, '');
      writeFileSync(`${file}.tmp`, value, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    }
    return readFileSync(file, 'utf8').trim();
  }
}

function copy(from: string, to: string): void {
  mkdirSync(join(to, '..'), { recursive: true });
  copyFileSync(from, to);
}

function certificateNames(certFile: string, host: string): boolean {
  const cert = new X509Certificate(readFileSync(certFile));
  return isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined;
}

export interface EnsureOptions {
  /** https://host:port of each organisation's CA. */
  caUrl: (org: string) => string;
  /** Called with a line for each identity actually issued. */
  report: (line: string) => void;
}

/**
 * Issues what is missing, at each organisation's Fabric CA (real or embedded, through
 * fabric-ca-client): the registrar's enrollment and the organisation's MSP folder (CA as root, TLS
 * root and NodeOU certifier), then each identity's signing certificate (`msp/`) and TLS
 * certificate (`tls/`). Idempotent: what exists is kept. Returns how many things it issued.
 *
 * @throws CaClientError when a CA refuses or cannot be reached.
 */
export async function ensureNetworkIdentities(
  t: Topology,
  folders: OrgFolders,
  specs: IdentitySpec[],
  o: EnsureOptions,
): Promise<number> {
  let issued = 0;
  const endpoint = (org: string): CaEndpoint => ({
    url: o.caUrl(org),
    caName: `ca-${org}`,
    tlsRootPem: readFileSync(folders.caCert(org), 'utf8'),
  });
  // The registrars of the organisations whose identities are asked for: another machine's CAs are not ours.
  const orgs = [...new Set(specs.map((s) => s.org))];
  for (const org of orgs) {
    const dir = folders.org(org);
    if (
      existsSync(join(folders.registrarMsp(org), 'signcerts', 'cert.pem')) &&
      existsSync(join(dir, 'msp', 'config.yaml'))
    ) {
      continue;
    }
    await enrollToMsp({
      ...endpoint(org),
      id: 'admin',
      secret: folders.secret(org, 'ca-admin'),
      mspDir: folders.registrarMsp(org),
    });
    copy(folders.caCert(org), join(dir, 'msp', 'cacerts', 'ca.pem'));
    copy(folders.caCert(org), join(dir, 'msp', 'tlscacerts', 'ca.pem'));
    writeFileSync(join(dir, 'msp', 'config.yaml'), NODE_OUS_YAML);
    o.report(`enrolled ca-${org} registrar`);
    issued++;
  }
  for (const spec of specs) {
    const dir = folders.identity(spec.org, spec.name);
    const tlsCert = join(dir, 'tls', 'server.crt');
    // A TLS certificate that no longer names the host (the topology moved it) is issued again.
    if (existsSync(tlsCert) && !certificateNames(tlsCert, spec.hosts[0] as string))
      rmSync(dir, { recursive: true, force: true });
    if (existsSync(join(dir, 'msp', 'signcerts', 'cert.pem')) && existsSync(join(dir, 'tls', 'server.key'))) continue;
    const secret = folders.secret(spec.org, spec.name);
    const ca = endpoint(spec.org);
    try {
      await registerIdentity({
        ...ca,
        registrarMspDir: folders.registrarMsp(spec.org),
        id: spec.name,
        secret,
        type: spec.type,
        attrs: parseAttributes(spec.attrs),
      });
    } catch (err) {
      // Already registered: a re-run after an interrupted enrollment enrolls with the kept secret.
      if (!(err instanceof CaClientError && err.code === 'ALREADY_REGISTERED')) throw err;
    }
    rmSync(dir, { recursive: true, force: true });
    const msp = join(dir, 'msp');
    const tmpTls = join(dir, 'tls-msp');
    await enrollToMsp({ ...ca, id: spec.name, secret, mspDir: msp, hosts: spec.hosts });
    const tls = await enrollToMsp({ ...ca, id: spec.name, secret, mspDir: tmpTls, hosts: spec.hosts, profile: 'tls' });
    // One CA file name that config.yaml can point at, and fixed TLS file names.
    for (const sub of ['cacerts', 'intermediatecerts']) rmSync(join(msp, sub), { recursive: true, force: true });
    copy(folders.caCert(spec.org), join(msp, 'cacerts', 'ca.pem'));
    copy(folders.caCert(spec.org), join(msp, 'tlscacerts', 'ca.pem'));
    writeFileSync(join(msp, 'config.yaml'), NODE_OUS_YAML);
    copy(tls.certificate, join(dir, 'tls', 'server.crt'));
    copy(tls.privateKey, join(dir, 'tls', 'server.key'));
    copy(folders.caCert(spec.org), join(dir, 'tls', 'ca.crt'));
    rmSync(tmpTls, { recursive: true, force: true });
    chmodSync(join(dir, 'tls', 'server.key'), 0o600);
    for (const k of readdirSync(join(msp, 'keystore'))) chmodSync(join(msp, 'keystore', k), 0o600);
    o.report(spec.label);
    issued++;
  }
  return issued;
}
