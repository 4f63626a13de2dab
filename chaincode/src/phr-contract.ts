import { Contract } from 'fabric-contract-api';
import type { Role } from '@phr/common';
import { PhrContext } from './context';
import { forbidden } from './errors';

/** Which roles may call a transaction function. Ownership checks (e.g. "this patient") are in the functions. */
export type AccessRules = Readonly<Record<string, readonly Role[]>>;

/**
 * Base of every PHR contract: builds the PhrContext and checks the caller's role against the
 * contract's rule table before any transaction runs. Functions missing from the table are refused,
 * so a new function is closed until someone decides who may call it.
 */
export abstract class PhrContract extends Contract {
  protected abstract readonly rules: AccessRules;

  override createContext(): PhrContext {
    return new PhrContext();
  }

  /** fabric-contract-api's hook: the check is synchronous, a refusal still a rejected promise. */
  override beforeTransaction(ctx: PhrContext): Promise<void> {
    return new Promise((resolve) => {
      this.checkRole(ctx);
      resolve();
    });
  }

  private checkRole(ctx: PhrContext): void {
    const { fcn } = ctx.stub.getFunctionAndParameters();
    const name = fcn.includes(':') ? fcn.slice(fcn.indexOf(':') + 1) : fcn;
    const allowed = Object.hasOwn(this.rules, name) ? this.rules[name] : undefined;
    if (!allowed) throw forbidden(`${this.getName()}:${name} is not open to any role`);
    const caller = ctx.caller;
    if (!allowed.includes(caller.role)) {
      throw forbidden(`${this.getName()}:${name} is not allowed for role ${caller.role}`);
    }
  }
}
