import type { Migration } from '@phr/common';
import { v1 } from './v1';
import { v2 } from './v2';
import { v3 } from './v3';
import { v4 } from './v4';
import { v5 } from './v5';
import { v6 } from './v6';
import { v7 } from './v7';
import { v8 } from './v8';

/**
 * The gateway database's migrations, oldest first; `openDatabase` applies the missing ones. To
 * change the schema, add `vN.ts` (N = the next number) and list it here.
 */
export const GATEWAY_MIGRATIONS: readonly Migration[] = [v1, v2, v3, v4, v5, v6, v7, v8];
