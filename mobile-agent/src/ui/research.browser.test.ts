/**
 * The Research page in headless Chromium against the in-memory agent: studies offered with what
 * they would get, accept and decline, the history and credits, opting out; what reaches the agent
 * and what the page refuses.
 */
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { AgentUiPage, axeViolations, launchChromium, structureProblems } from '@phr/test-support';
import { ResearchError } from '../research/research-error';
import { startUi, type UiServer } from './server';
import { MemoryAgent } from './testing/memory-agent';
import { SAMPLE_FULL_STUDY, SAMPLE_OTHER_STUDY, SAMPLE_STUDY, sampleInterruptedStudy } from './testing/sample-research';

jest.setTimeout(60_000);

const SCREENSHOTS = join(__dirname, '../../../test-results/ui-screenshots');

describe('Research page (headless Chromium)', () => {
  let browser: Browser;
  let agent: MemoryAgent;
  let ui: UiServer;
  let context: BrowserContext;
  let page: Page;
  let app: AgentUiPage;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    agent = MemoryAgent.withSamples();
    ui = await startUi(agent, { port: 0 });
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    app = new AgentUiPage(page, ui.url);
  });
  afterEach(async () => {
    await context?.close();
    await ui?.close();
  });

  const origin = () => ui.url.replace(/\/$/, '');
  const study = (offerId: string) => page.locator(`section[data-offer-id="${offerId}"]`);
  const historyRows = async () =>
    Promise.all(
      (await page.locator('tr[data-history-offer]').all()).map(async (r) => ({
        offerId: await r.getAttribute('data-history-offer'),
        status: await r.getAttribute('data-status'),
        credits: (await r.locator('[data-credits]').innerText()).trim(),
      })),
    );

  it('lists only the studies the records match, with exactly what each would get, the title as text', async () => {
    await app.open('research');
    expect(await app.heading()).toBe('Research');
    expect(await page.locator('nav [aria-current="page"]').getAttribute('href')).toBe('/research');
    expect(await page.locator('section[data-offer-id]').count()).toBe(1);
    const s = study(SAMPLE_STUDY);
    expect(await s.locator('h3').innerText()).toBe('HbA1c of adults <b>18+</b> & "diabetes"');
    expect(await page.locator('main b').count()).toBe(0);
    expect(await s.locator('[data-credits]').innerText()).toBe('10');
    expect(await s.locator('[data-demographics]').innerText()).toBe(
      'age 54, gender female, first 3 digits of your postal code (021)',
    );
    const row = s.locator('tr[data-preview-row]');
    expect(await row.count()).toBe(1);
    expect((await row.locator('td').allInnerTexts()).map((t) => t.trim())).toEqual([
      '2025',
      'Hemoglobin A1c/Hemoglobin.total in Blood',
      '6.1 %',
      'LOINC 4548-4',
      'date cut to the year',
    ]);
    // the page lists what matches: the agent is not asked for the others
    expect(agent.callsOf('researchOffers')).toEqual([[{}]]);
    expect(await study(SAMPLE_OTHER_STUDY).count()).toBe(0);
    expect(await page.locator('[data-history-count="0"]').count()).toBe(1);
    expect(await page.locator('[data-balance]').getAttribute('data-balance')).toBe('0');
  });

  it('accepts a study: the agent gets exactly that, the history shows what it got and the credits', async () => {
    await app.open('research');
    await app.follow(study(SAMPLE_STUDY).getByRole('button', { name: /Accept and share/ }));
    expect(await app.notice()).toEqual({
      kind: 'success',
      title: 'Shared with the study',
      lines: [
        '1 de-identified record item(s) went to the study, sealed so only it can read them.',
        'Credits paid: 10.',
      ],
    });
    expect(agent.callsOf('acceptResearch')).toEqual([[SAMPLE_STUDY]]);
    expect(await historyRows()).toEqual([{ offerId: SAMPLE_STUDY, status: 'delivered', credits: '10' }]);
    expect(await page.locator('[data-balance]').getAttribute('data-balance')).toBe('10');
    // delivered: no second accept, no decline
    expect(await study(SAMPLE_STUDY).getByRole('button').count()).toBe(0);
  });

  it('finishes an interrupted delivery after the quota filled, and offers no accept on a closed study otherwise', async () => {
    const withdrawn = 'offer-lipids-withdrawn';
    agent.researchOfferList.push(sampleInterruptedStudy(), {
      // accepted but stopped before its consent reached the ledger: nothing to finish once withdrawn
      ...sampleInterruptedStudy(),
      offerId: withdrawn,
      title: 'Lipids, withdrawn',
      status: 'withdrawn',
      stage: 'prepared',
      finishable: undefined,
    });
    await app.open('research');
    const s = study(SAMPLE_FULL_STUDY);
    expect((await s.locator('[data-finishable]').innerText()).replace(/\s+/g, ' ').trim()).toBe(
      'Accepted, not delivered yet The study takes no new participants, but your place is kept until ' +
        `${(await s.locator('dd').nth(2).innerText()).trim()}: finish sharing to send it.`,
    );
    expect(await s.getByRole('button', { name: /Accept and share/ }).count()).toBe(0);
    expect(
      await study(withdrawn)
        .getByRole('button', { name: /Accept and share|Finish sharing/ })
        .count(),
    ).toBe(0);

    await app.follow(s.getByRole('button', { name: /Finish sharing/ }));
    expect(await app.notice()).toEqual({
      kind: 'success',
      title: 'Shared with the study',
      lines: ['1 de-identified record item(s) went to the study, sealed so only it can read them.', 'Credits paid: 7.'],
    });
    expect(agent.callsOf('acceptResearch')).toEqual([[SAMPLE_FULL_STUDY]]);
    expect(await historyRows()).toEqual([{ offerId: SAMPLE_FULL_STUDY, status: 'delivered', credits: '7' }]);
    expect(await study(SAMPLE_FULL_STUDY).getByRole('button').count()).toBe(0);
  });

  it('declines a study: nothing is sent, the history says so', async () => {
    await app.open('research');
    await app.follow(study(SAMPLE_STUDY).getByRole('button', { name: /Decline/ }));
    expect((await app.notice())?.title).toBe('Declined');
    expect(agent.callsOf('declineResearch')).toEqual([[SAMPLE_STUDY]]);
    expect(agent.callsOf('acceptResearch')).toEqual([]);
    expect(await historyRows()).toEqual([{ offerId: SAMPLE_STUDY, status: 'declined', credits: '0' }]);
  });

  it('opts out of research altogether (no study can be accepted then), and back in', async () => {
    await app.open('research');
    await app.follow(page.getByRole('button', { name: 'Opt out of research altogether' }));
    expect((await app.notice())?.title).toBe('You opted out of research');
    expect(agent.callsOf('setResearchOptOut')).toEqual([[true]]);
    expect(await page.locator('[data-opted-out="true"]').count()).toBe(1);
    expect(
      await study(SAMPLE_STUDY)
        .getByRole('button', { name: /Accept and share/ })
        .count(),
    ).toBe(0);
    await app.follow(page.getByRole('button', { name: 'Opt in to research again' }));
    expect(agent.callsOf('setResearchOptOut')).toEqual([[true], [false]]);
    expect(
      await study(SAMPLE_STUDY)
        .getByRole('button', { name: /Accept and share/ })
        .count(),
    ).toBe(1);
  });

  it('says why the agent refused, in words, never a stack', async () => {
    agent.failNext(
      'acceptResearch',
      new ResearchError('INCOMPLETE', 'the gateway could not be reached; run accept again to finish'),
    );
    await app.open('research');
    await app.follow(study(SAMPLE_STUDY).getByRole('button', { name: /Accept and share/ }));
    expect(await app.notice()).toEqual({
      kind: 'error',
      title: 'The study did not get your data',
      lines: ['Accepted, but not delivered yet: the gateway could not be reached; run accept again to finish.'],
    });
    expect(await page.content()).not.toContain('at ResearchService');
  });

  it('refuses a POST without the page token, and an offer id that is not one', async () => {
    await app.open('research');
    for (const path of [`/research/${SAMPLE_STUDY}/accept`, `/research/${SAMPLE_STUDY}/decline`, '/research/opt-out']) {
      const res = await page.request.post(`${origin()}${path}`, { form: {}, headers: { Origin: origin() } });
      expect(res.status()).toBe(403);
    }
    const token = await page.locator('input[name="_csrf"]').first().inputValue();
    const bad = await page.request.post(`${origin()}/research/${encodeURIComponent('../x')}/accept`, {
      form: { _csrf: token },
      headers: { Origin: origin() },
    });
    expect(bad.status()).toBe(404);
    expect(agent.callsOf('acceptResearch')).toEqual([]);
    expect(agent.callsOf('declineResearch')).toEqual([]);
    expect(agent.callsOf('setResearchOptOut')).toEqual([]);
  });

  it('has no axe violations and a sound structure', async () => {
    await app.open('research');
    await page.screenshot({ path: `${SCREENSHOTS}/research.png`, fullPage: true });
    expect(await structureProblems(page)).toEqual([]);
    expect(await axeViolations(page)).toEqual([]);
  });
});
