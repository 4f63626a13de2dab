import type { OutcomeIssue } from '@phr/common';
import { describe, warning } from './ccda-issues';
import { asArray } from './ccda-xml';

type Json = Record<string, unknown>;

/**
 * CDA ActStatus codes @medplum/ccda's goal mapping (active, completed, cancelled, aborted) leaves
 * out, as FHIR GoalLifecycleStatus. C-CDA R1.1's Plan of Care Activity Observation (mood RQO, status
 * `new`) becomes a Goal too, and R2.1 senders write `new` or `held` on goals.
 */
const GOAL_LIFECYCLE: ReadonlyMap<string, string> = new Map([
  ['new', 'proposed'],
  ['held', 'on-hold'],
  ['suspended', 'on-hold'],
  ['nullified', 'entered-in-error'],
  ['obsolete', 'cancelled'],
  ['normal', 'active'],
]);

/**
 * Where @medplum/ccda makes Goals (its processObservation): an entry's observation whose first
 * template is the Goal Observation (or, as it also checks, the Goals section's), or any entry
 * observation of a section whose first template is Plan of Treatment or Goals. Only top-level
 * sections' entries are converted.
 */
const GOAL_SECTIONS: ReadonlySet<string> = new Set([
  '2.16.840.1.113883.10.20.22.2.10',
  '2.16.840.1.113883.10.20.22.2.60',
]);
const GOAL_OBSERVATIONS: ReadonlySet<string> = new Set([
  '2.16.840.1.113883.10.20.22.4.121',
  '2.16.840.1.113883.10.20.22.2.60',
]);

interface CdaNode {
  templateId?: { '@_root'?: string }[];
  statusCode?: { '@_code'?: string } | string;
  entry?: { observation?: CdaNode[] }[];
}

/**
 * The status each converted Goal's own observation states, where the converter dropped it. The
 * converter makes exactly one Goal per such observation, in document order, so the n-th Goal it
 * made is the n-th goal observation; if the counts differ (a converter that changed its rules), no
 * Goal is matched and each says so.
 */
export class GoalStatuses {
  private constructor(private readonly byGoal: ReadonlyMap<Json, string | undefined>) {}

  static in(document: unknown, goals: readonly Json[]): GoalStatuses {
    const stated: (string | undefined)[] = [];
    const body = (document as { component?: { structuredBody?: { component?: unknown } } } | undefined)?.component
      ?.structuredBody;
    for (const component of asArray(body?.component) as { section?: CdaNode | CdaNode[] }[]) {
      for (const section of asArray(component.section)) {
        const inGoalSection = GOAL_SECTIONS.has(section.templateId?.[0]?.['@_root'] ?? '');
        for (const entry of asArray(section.entry)) {
          for (const observation of asArray(entry.observation)) {
            if (inGoalSection || GOAL_OBSERVATIONS.has(observation.templateId?.[0]?.['@_root'] ?? '')) {
              const status = observation.statusCode;
              stated.push(typeof status === 'object' ? status['@_code'] : undefined);
            }
          }
        }
      }
    }
    const byGoal = new Map<Json, string | undefined>();
    if (stated.length === goals.length) goals.forEach((goal, i) => byGoal.set(goal, stated[i]));
    return new GoalStatuses(byGoal);
  }

  /** The lifecycle status of a Goal the converter gave none: its own statusCode's, or 'proposed', said. */
  of(goal: Json, warnings: OutcomeIssue[]): string {
    const code = this.byGoal.get(goal);
    const status = code === undefined ? undefined : GOAL_LIFECYCLE.get(code);
    if (status !== undefined) return status;
    warnings.push(
      warning(
        `Goal "${describe(goal.description) || 'unnamed'}": ` +
          (code === undefined
            ? 'its status in the document could not be matched to it'
            : `its status '${code.slice(0, 40)}' has no FHIR lifecycle status`) +
          "; FHIR requires one, it is given as 'proposed'",
      ),
    );
    return 'proposed';
  }
}
