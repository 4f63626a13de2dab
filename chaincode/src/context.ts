import { Context } from 'fabric-contract-api';
import { Caller } from './caller';
import { StateStore } from './state';

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
    const ts = this.stub.getTxTimestamp();
    const millis = Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6);
    return new Date(millis).toISOString();
  }
}
