import type { OutcomeIssue } from '@phr/common';
import { GoalStatuses } from './goal-statuses';

type Json = Record<string, unknown>;

const PLAN_OF_TREATMENT = '2.16.840.1.113883.10.20.22.2.10';
const GOAL_OBSERVATION = '2.16.840.1.113883.10.20.22.4.121';
const MEDICATIONS = '2.16.840.1.113883.10.20.22.2.1.1';

const observation = (status: string, template = '2.16.840.1.113883.10.20.22.4.44') => ({
  templateId: [{ '@_root': template }],
  statusCode: { '@_code': status },
});
const section = (template: string, ...observations: Json[]) => ({
  section: [{ templateId: [{ '@_root': template }], entry: observations.map((o) => ({ observation: [o] })) }],
});
const documentWith = (...components: Json[]) => ({ component: { structuredBody: { component: components } } });
const goal = (text: string): Json => ({ resourceType: 'Goal', description: { text } });

describe('GoalStatuses: the status each Goal’s own observation states', () => {
  it('matches the n-th Goal to the n-th observation the converter makes a Goal of, and nothing else', () => {
    const document = documentWith(
      // a medication section's observation with status 'nullified' is no goal and must not lend its status
      section(MEDICATIONS, observation('nullified')),
      section(PLAN_OF_TREATMENT, observation('new'), observation('active')),
      section(MEDICATIONS, observation('held', GOAL_OBSERVATION)),
    );
    const goals = [goal('a'), goal('b'), goal('c')];
    const statuses = GoalStatuses.in(document, goals);
    const warnings: OutcomeIssue[] = [];
    expect(statuses.of(goals[0]!, warnings)).toBe('proposed');
    expect(statuses.of(goals[2]!, warnings)).toBe('on-hold');
    expect(warnings).toEqual([]);
  });

  it('says so when the counts differ or a status has no FHIR lifecycle status, and gives proposed', () => {
    const document = documentWith(section(PLAN_OF_TREATMENT, observation('new'), observation('bogus')));
    const warnings: OutcomeIssue[] = [];
    const mismatched = GoalStatuses.in(document, [goal('only one')]);
    expect(mismatched.of(goal('only one'), warnings)).toBe('proposed');
    const goals = [goal('a'), goal('b')];
    const matched = GoalStatuses.in(document, goals);
    expect(matched.of(goals[1]!, warnings)).toBe('proposed');
    expect(warnings.map((w) => w.diagnostics)).toEqual([
      'Goal "only one": its status in the document could not be matched to it; FHIR requires one, it is given as \'proposed\'',
      "Goal \"b\": its status 'bogus' has no FHIR lifecycle status; FHIR requires one, it is given as 'proposed'",
    ]);
  });

  it('reads an inherited property name as the status it is, never as a lookup hit', () => {
    const document = documentWith(section(PLAN_OF_TREATMENT, observation('constructor')));
    const goals = [goal('a')];
    const warnings: OutcomeIssue[] = [];
    expect(GoalStatuses.in(document, goals).of(goals[0]!, warnings)).toBe('proposed');
    expect(warnings).toHaveLength(1);
  });
});
