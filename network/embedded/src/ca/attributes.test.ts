import {
  AttributeError,
  attributeExtensionValue,
  BOOTSTRAP_ATTRIBUTES,
  certificateAttributes,
  checkMayActOnAffiliation,
  checkMayActOnType,
  checkMayRegisterAttributes,
} from './attributes';
import type { IdentityRecord } from './ca-database';

const registered = [
  { name: 'phr.role', value: 'clinician', ecert: true },
  { name: 'phr.emergency', value: 'true', ecert: false },
  { name: 'hf.EnrollmentID', value: 'c1', ecert: true },
];

function identity(attributes: IdentityRecord['attributes'], affiliation = ''): IdentityRecord {
  return { id: 'r', secretHash: '', type: 'client', affiliation, attributes, maxEnrollments: -1, enrollments: 0 };
}

describe('the attribute extension', () => {
  it("is Go's json.Marshal of {attrs}: keys in byte order, HTML characters escaped", () => {
    const value = attributeExtensionValue(
      new Map([
        ['z', '<&>'],
        ['B', 'é'],
        ['a', '1'],
      ]),
    );
    expect(value.toString('utf8')).toBe('{"attrs":{"B":"é","a":"1","z":"\\u003c\\u0026\\u003e"}}');
  });

  it('carries the ecert attributes by default, the requested ones otherwise, none for an identity without ecert attributes', () => {
    expect(certificateAttributes(registered, undefined)).toEqual(
      new Map([
        ['phr.role', 'clinician'],
        ['hf.EnrollmentID', 'c1'],
      ]),
    );
    expect(certificateAttributes(registered, [{ name: 'phr.emergency', optional: false }])).toEqual(
      new Map([['phr.emergency', 'true']]),
    );
    expect(certificateAttributes(registered, [])).toEqual(new Map());
    expect(certificateAttributes([{ name: 'x', value: 'y', ecert: false }], undefined)).toBeUndefined();
    expect(certificateAttributes(registered, [{ name: 'absent', optional: true }])).toEqual(new Map());
    expect(() => certificateAttributes(registered, [{ name: 'absent', optional: false }])).toThrow(AttributeError);
  });
});

describe("a registrar's rights", () => {
  const bootstrap = identity([...BOOTSTRAP_ATTRIBUTES]);

  it('lets the bootstrap admin register any type and attribute, but never the fixed hf. ones', () => {
    expect(() => checkMayActOnType(bootstrap, 'orderer')).not.toThrow();
    expect(() =>
      checkMayRegisterAttributes(bootstrap, [{ name: 'phr.role', value: 'admin', ecert: true }]),
    ).not.toThrow();
    expect(() =>
      checkMayRegisterAttributes(bootstrap, [{ name: 'hf.Revoker', value: 'true', ecert: false }]),
    ).not.toThrow();
    for (const name of ['hf.EnrollmentID', 'hf.Type', 'hf.Affiliation', 'hf.Unknown']) {
      expect(() => checkMayRegisterAttributes(bootstrap, [{ name, value: 'x', ecert: true }])).toThrow(AttributeError);
    }
  });

  it('limits a delegated registrar to its roles, attribute patterns and affiliation', () => {
    const limited = identity(
      [
        { name: 'hf.Registrar.Roles', value: 'client,peer', ecert: false },
        { name: 'hf.Registrar.Attributes', value: 'phr.*', ecert: false },
      ],
      'hospital1',
    );
    expect(() => checkMayActOnType(limited, 'peer')).not.toThrow();
    expect(() => checkMayActOnType(limited, 'admin')).toThrow(AttributeError);
    expect(() => checkMayRegisterAttributes(limited, [{ name: 'phr.role', value: 'x', ecert: true }])).not.toThrow();
    expect(() => checkMayRegisterAttributes(limited, [{ name: 'other', value: 'x', ecert: true }])).toThrow(
      AttributeError,
    );
    expect(() => checkMayRegisterAttributes(limited, [{ name: 'hf.Revoker', value: 'true', ecert: true }])).toThrow(
      AttributeError,
    );
    expect(() => checkMayActOnAffiliation(limited, 'hospital1.ward')).not.toThrow();
    expect(() => checkMayActOnAffiliation(limited, 'hospital2')).toThrow(AttributeError);
    expect(() => checkMayActOnType(identity([]), 'client')).toThrow(AttributeError);
  });
});
