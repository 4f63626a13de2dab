/** The agent's local web page: `startUi(api)` serves it on 127.0.0.1. */
export { startUi, type UiOptions, type UiServer } from './server';
export type { UiLog } from './routes';
