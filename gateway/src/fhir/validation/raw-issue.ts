import type { IssueSeverity, IssueType } from '@phr/common';
import type { KeyPath } from './element-path';

/** Which layer found an issue; used to prefer one report when two layers flag the same element. */
export type IssueSource = 'gateway' | 'structure-definition' | 'json-schema';

/** An issue before its location is rendered as FHIRPath. */
export interface RawIssue {
  severity: IssueSeverity;
  code: IssueType;
  diagnostics: string;
  /** JSON keys/indexes below the validated resource. */
  path?: KeyPath;
  /** Fallback when a layer's location could not be mapped to a key path: its own text, root type first. */
  expression?: string;
  source: IssueSource;
}
