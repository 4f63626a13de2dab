/**
 * Accessibility checks for the page's tests: axe-core (injected from node_modules, no network)
 * for the WCAG 2.1 A/AA rules, and a few structural checks of our own that axe leaves to
 * judgement (one h1, every landmark, captions and header scopes on tables).
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

export interface AxeViolation {
  id: string;
  impact?: string | null;
  help: string;
  targets: string[];
}

let axeSource: string | undefined;

// The checks below run inside the page. They are source text, not functions, because this
// workspace compiles without the DOM library (it is Node code); the browser parses them instead.

const RUN_AXE = `(async () => {
  const results = await axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
  });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map((n) => n.target.map(String).join(' ')),
  }));
})()`;

const STRUCTURE = `(() => {
  const problems = [];
  const count = (selector) => document.querySelectorAll(selector).length;
  if (count('h1') !== 1) problems.push('expected one h1, found ' + count('h1'));
  if (count('main') !== 1) problems.push('expected one main landmark');
  if (count('body > header') !== 1) problems.push('expected a banner (header)');
  if (count('nav[aria-label]') < 1) problems.push('expected a labelled nav');
  if (count('body > footer') !== 1) problems.push('expected a contentinfo (footer)');
  if (!document.documentElement.lang) problems.push('html has no lang');
  if (!document.querySelector('a.skip-link[href="#main"]')) problems.push('no skip link to main');
  for (const control of document.querySelectorAll('input:not([type="hidden"]), select, textarea')) {
    const labelled = control.labels.length > 0 || control.hasAttribute('aria-label') || control.hasAttribute('aria-labelledby');
    if (!labelled) problems.push('control without a label: ' + control.outerHTML.slice(0, 80));
  }
  for (const table of document.querySelectorAll('table')) {
    if (!table.querySelector('caption')) problems.push('table without caption');
    for (const th of table.querySelectorAll('th')) {
      if (!th.getAttribute('scope')) problems.push('th without scope: ' + th.textContent.slice(0, 40));
    }
  }
  for (const button of document.querySelectorAll('button')) {
    if (!button.textContent.trim()) problems.push('button without text');
  }
  return problems;
})()`;

/** Violations of WCAG 2.0/2.1 A and AA and axe's best practices on the current page. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  // evaluated through the DevTools protocol, which the page's CSP (no scripts at all) does not govern
  await page.evaluate(axeSource);
  return page.evaluate<AxeViolation[]>(RUN_AXE);
}

/** Structural problems axe does not insist on; empty when the page is well formed. */
export async function structureProblems(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(STRUCTURE);
}
