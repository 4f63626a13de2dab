import { RecoveryError } from '../recovery/recovery-error';
import {
  EMPTY_SETUP_FORM,
  readSetupForm,
  setupFieldError,
  validateSetupForm,
  type SetupFormValues,
} from './recovery-form';

const SELF = 'ptselfaaaaaaaaaaaaaaaaaaaaaa';
const A = 'ptguardianaaaaaaaaaaaaaaaaaa';
const B = 'ptguardianbbbbbbbbbbbbbbbbbb';
const context = { self: SELF, hospitals: ['hospital1', 'hospital2'] };

const form = (values: Partial<SetupFormValues>): SetupFormValues => ({ ...EMPTY_SETUP_FORM, ...values });
const check = (values: Partial<SetupFormValues>) => validateSetupForm(form(values), context);
const messages = (values: Partial<SetupFormValues>) => {
  const r = check(values);
  return r.ok ? [] : r.errors.map((e) => `${e.field}: ${e.message}`);
};

describe('the recovery setup form', () => {
  it('reads the form as entered; anything but text reads as empty', () => {
    expect(readSetupForm({ guardians: `${A}\n${B}`, paper: ' 1 ', threshold: '2', hospital: 'hospital2' })).toEqual({
      guardians: `${A}\n${B}`,
      paper: '1',
      threshold: '2',
      hospital: 'hospital2',
    });
    expect(readSetupForm({ guardians: [A], paper: 3 })).toEqual({
      guardians: '',
      paper: '',
      threshold: '',
      hospital: '',
    });
  });

  it('gives the agent the guardians, counts and hospital, as `recovery setup` takes them', () => {
    expect(check({ guardians: `${A}\n${B.toUpperCase()}`, paper: '1', threshold: '2', hospital: 'hospital2' })).toEqual(
      {
        ok: true,
        options: { guardians: [A, B], paper: 1, threshold: 2, hospital: 'hospital2' },
      },
    );
    // spaces and commas separate too; no hospital chosen leaves it to the agent
    expect(check({ guardians: ` ${A}, ${B} `, paper: '0', threshold: '2' })).toEqual({
      ok: true,
      options: { guardians: [A, B], paper: 0, threshold: 2 },
    });
    expect(check({ guardians: '', paper: '3', threshold: '2' })).toEqual({
      ok: true,
      options: { guardians: [], paper: 3, threshold: 2 },
    });
  });

  it('names what is wrong with the guardians', () => {
    expect(messages({ guardians: 'alice', paper: '2' })).toEqual([
      'guardians: “alice” is not a pseudonym: they start with pt, followed by 26 letters and digits',
    ]);
    expect(messages({ guardians: `${A}\n${SELF}`, paper: '1' })).toEqual([
      'guardians: You cannot be your own guardian: name other patients',
    ]);
    expect(messages({ guardians: `${A}\n${A}`, paper: '1' })).toEqual([`guardians: ${A} is named twice`]);
  });

  it('names what is wrong with the counts, each next to its field', () => {
    expect(messages({ guardians: '', paper: '1', threshold: '2' })).toEqual([
      'guardians: Name guardians or print paper codes: at least 2 shares in all',
    ]);
    expect(messages({ guardians: A, paper: '10', threshold: '2' })).toEqual([
      'paper: At most 10 shares in all, guardians and paper codes together (you asked for 11)',
    ]);
    expect(messages({ paper: 'two', threshold: '' })).toEqual([
      'paper: Enter how many paper codes to print as a whole number, 0 for none',
      'threshold: Enter how many shares are needed as a whole number',
    ]);
    expect(messages({ paper: '-1', threshold: '2.5' })).toHaveLength(2);
    expect(messages({ paper: '3', threshold: '1' })).toEqual([
      'threshold: At least 2 shares must be needed: one alone must never be enough',
    ]);
    expect(messages({ guardians: A, paper: '1', threshold: '3' })).toEqual([
      'threshold: No more shares can be needed than you make (2)',
    ]);
    expect(messages({ paper: '3', threshold: '2', hospital: 'Nowhere' })).toEqual([
      'setupHospital: Choose a hospital from the list',
    ]);
  });

  it('puts the agent’s refusal of a guardian next to the guardians, and nothing else', () => {
    expect(setupFieldError(new RecoveryError('UNKNOWN_GUARDIAN', `guardian ${A} is not a registered patient`))).toEqual(
      {
        id: 'recovery-guardians',
        field: 'guardians',
        message: `Guardian ${A} is not a registered patient`,
      },
    );
    expect(setupFieldError(new RecoveryError('INVALID_ARGUMENT', 'you cannot be your own guardian'))?.field).toBe(
      'guardians',
    );
    expect(setupFieldError(new RecoveryError('NOT_DELIVERED', 'the share could not be sent'))).toBeUndefined();
    // the ledger's INVALID_ARGUMENT is the ledger's, not the form's
    expect(
      setupFieldError(Object.assign(new Error('INVALID_ARGUMENT: x'), { code: 'INVALID_ARGUMENT' })),
    ).toBeUndefined();
  });
});
