import { parseSignaturePolicy } from '../policy/policy-dsl';
import { SignaturePolicy } from '../policy/signature-policy';
import { planOrganizations } from './endorsement-plan';

const policy = (text: string) => new SignaturePolicy(parseSignaturePolicy(text));

describe('planOrganizations', () => {
  const majority = policy("OutOf(2,'H1.peer','H2.peer','H3.peer')");

  it('picks the fewest organisations, the local one first', () => {
    expect(planOrganizations(majority, 'H2', ['H1', 'H2', 'H3'])).toEqual(['H2', 'H1']);
    expect(planOrganizations(majority, 'H3', ['H1', 'H2', 'H3'])).toEqual(['H3', 'H1']);
    expect(planOrganizations(policy("OR('H1.peer','H2.peer')"), 'H2', ['H1', 'H2'])).toEqual(['H2']);
  });

  it('leaves out a local organisation that cannot help, as a patients gateway would be', () => {
    expect(planOrganizations(majority, 'Patients', ['H1', 'H2', 'H3'])).toEqual(['H1', 'H2']);
    expect(planOrganizations(policy("OR('H2.peer')"), 'H1', ['H1', 'H2'])).toEqual(['H2']);
  });

  it('takes every organisation an AND names, and only candidates that have peers', () => {
    expect(planOrganizations(policy("AND('H1.peer','H2.peer','H3.peer')"), 'H1', ['H3', 'H2'])).toEqual([
      'H1',
      'H3',
      'H2',
    ]);
    expect(planOrganizations(policy("AND('H1.peer','H2.peer')"), 'H1', ['H1'])).toBeUndefined();
    expect(planOrganizations(majority, 'H1', [])).toBeUndefined();
  });

  it('counts one peer per organisation: two principals of one organisation cannot both be met', () => {
    expect(planOrganizations(policy("OutOf(2,'H1.peer','H1.peer')"), 'H1', ['H1', 'H2'])).toBeUndefined();
  });

  it('plans for peers only: a policy of clients or admins cannot be met by endorsers', () => {
    expect(planOrganizations(policy("OR('H1.client','H1.admin')"), 'H1', ['H1'])).toBeUndefined();
    expect(planOrganizations(policy("OR('H1.member')"), 'H1', ['H1'])).toEqual(['H1']);
  });
});
