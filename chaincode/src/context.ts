import { Context } from 'fabric-contract-api';
import { Caller } from './caller';
import { StateStore, timestampToIso } from './state';

/** Per-transaction context: the verified caller and deterministic state access. */
export class PhrContext extends Context {
  private cachedCaller?: Caller;
  private cachedState?: StateStore;

  get caller(): Caller {
    this.cachedCaller ??= new Caller(this.clientIdentity);
    return this.cachedCaller;
  }

  get state(): StateStore {
    this.cachedState ??= new StateStore(this.stub);
    return this.cachedState;
  }

  /** Transaction time as ISO 8601: the proposal timestamp, identical on every endorsing peer. */
  get now(): string {
    return timestampToIso(this.stub.getTxTimestamp());
  }
}
