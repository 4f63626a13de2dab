import type { Migration } from '@phr/common';
import { v1 } from './v1';

/**
 * The gateway database's migrations, oldest first; `openDatabase` applies the missing ones. To
 * change the schema, add `vN.ts` (N = the next number) and list it here.
 */
export const GATEWAY_MIGRATIONS: readonly Migration[] = [v1];
