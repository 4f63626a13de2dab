import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { msp as mspProtos } from '@hyperledger/fabric-protos';
import { parse } from 'yaml';

const files = (dir: string): Buffer[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => !f.startsWith('.'))
        .sort()
        .map((f) => readFileSync(join(dir, f)))
    : [];

interface OuIdentifier {
  Certificate?: string;
  OrganizationalUnitIdentifier?: string;
}

function ouIdentifier(mspDir: string, raw: OuIdentifier | undefined): mspProtos.FabricOUIdentifier | undefined {
  if (!raw?.OrganizationalUnitIdentifier) return undefined;
  const id = new mspProtos.FabricOUIdentifier();
  id.setOrganizationalUnitIdentifier(raw.OrganizationalUnitIdentifier);
  if (raw.Certificate) id.setCertificate(readFileSync(resolve(mspDir, raw.Certificate)));
  return id;
}

/**
 * An MSP folder (cacerts/, intermediatecerts/, admincerts/, tlscacerts/, tlsintermediatecerts/,
 * crls/, config.yaml with NodeOUs) as the `msp.MSPConfig` a channel configuration carries —
 * what configtxgen reads from `MSPDir`.
 */
export function mspConfigFromFolder(mspId: string, mspDir: string): mspProtos.MSPConfig {
  const conf = new mspProtos.FabricMSPConfig();
  conf.setName(mspId);
  conf.setRootCertsList(files(join(mspDir, 'cacerts')));
  conf.setIntermediateCertsList(files(join(mspDir, 'intermediatecerts')));
  conf.setAdminsList(files(join(mspDir, 'admincerts')));
  conf.setRevocationListList(files(join(mspDir, 'crls')));
  conf.setTlsRootCertsList(files(join(mspDir, 'tlscacerts')));
  conf.setTlsIntermediateCertsList(files(join(mspDir, 'tlsintermediatecerts')));
  const crypto = new mspProtos.FabricCryptoConfig();
  crypto.setSignatureHashFamily('SHA2');
  crypto.setIdentityIdentifierHashFunction('SHA256');
  conf.setCryptoConfig(crypto);
  const configFile = join(mspDir, 'config.yaml');
  if (existsSync(configFile)) {
    const doc = (parse(readFileSync(configFile, 'utf8')) ?? {}) as {
      NodeOUs?: {
        Enable?: boolean;
        ClientOUIdentifier?: OuIdentifier;
        PeerOUIdentifier?: OuIdentifier;
        AdminOUIdentifier?: OuIdentifier;
        OrdererOUIdentifier?: OuIdentifier;
      };
    };
    const n = doc.NodeOUs;
    if (n) {
      const ous = new mspProtos.FabricNodeOUs();
      ous.setEnable(!!n.Enable);
      ous.setClientOuIdentifier(ouIdentifier(mspDir, n.ClientOUIdentifier));
      ous.setPeerOuIdentifier(ouIdentifier(mspDir, n.PeerOUIdentifier));
      ous.setAdminOuIdentifier(ouIdentifier(mspDir, n.AdminOUIdentifier));
      ous.setOrdererOuIdentifier(ouIdentifier(mspDir, n.OrdererOUIdentifier));
      conf.setFabricNodeOus(ous);
    }
  }
  const out = new mspProtos.MSPConfig();
  out.setType(0); // FABRIC
  out.setConfig(conf.serializeBinary());
  return out;
}
