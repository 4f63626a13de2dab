import type { Migration } from '@phr/common';
import { v1 } from './v1';
import { v2 } from './v2';

/**
 * The vault's migrations, oldest first; `SqliteVault.open` applies the missing ones. To change the
 * schema, add `vN.ts` (N = the next number) and list it here.
 */
export const VAULT_MIGRATIONS: readonly Migration[] = [v1, v2];
