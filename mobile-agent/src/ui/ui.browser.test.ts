/**
 * The agent's web page in headless Chromium (Debian's, driven by playwright-core) against the
 * in-memory agent: what the patient sees, what reaches the agent, and what the page refuses.
 */
import { request as httpRequest } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { numberText, type ExactNumber } from '@phr/common';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { localDateInput } from './format';
import { startUi, type UiServer } from './server';
import { axeViolations, structureProblems } from '@phr/test-support';
import { launchChromium } from '@phr/test-support';
import { RecoveryError } from '../recovery/recovery-error';
import { agentError, MemoryAgent, SAMPLE_RECOVERY_REQUEST } from './testing/memory-agent';
import {
  ccdaDelivery,
  HBA1C,
  HOSTILE_CCDA_XML,
  sampleDelivery,
  SYNTHEA_TRENDS_PATIENT,
  syntheaDelivery,
  syntheaResources,
} from './testing/sample-records';
import { AgentUiPage } from '@phr/test-support';

jest.setTimeout(60_000);

const SCREENSHOTS = join(__dirname, '../../../test-results/ui-screenshots');

const inDays = (days: number): string => localDateInput(new Date(Date.now() + days * 86_400_000));

/** A raw HTTP request with any Host header (browsers do not let a page choose it). */
function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string }) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('agent web page (headless Chromium)', () => {
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
  const csrfToken = async () => page.locator('input[name="_csrf"]').first().inputValue();

  describe('Records', () => {
    it('lists the whole resources grouped by type, in words, from their hospitals', async () => {
      await app.open('records');
      expect(await app.heading()).toBe('Records');
      const shown = await app.recordsShown();
      expect(shown.map((r) => r.resourceType)).toEqual(['Condition', 'Observation', 'Observation', 'Immunization']);
      expect(shown).toContainEqual(
        expect.objectContaining({ what: 'HbA1c', code: 'LOINC 4548-4', value: '6.1 %', from: 'Hospital One' }),
      );
      expect(shown).toContainEqual(
        expect.objectContaining({ what: 'Blood pressure panel', value: 'Systolic: 128 mmHg; Diastolic: 82 mmHg' }),
      );
      expect(shown).toContainEqual(expect.objectContaining({ what: 'Type 2 diabetes mellitus', value: 'Active' }));
      // markup from a hospital is shown as text, never run or rendered
      const flu = shown.find((r) => r.resourceType === 'Immunization');
      expect(flu).toMatchObject({ what: 'Influenza <b>seasonal</b> & "preservative free"', from: 'Hospital Two' });
      expect(await page.locator('main b').count()).toBe(0);
      expect(agent.callsOf('records')[0]).toEqual([{ kind: 'resource', limit: 1001 }]);
    });

    it('searches by type, by code (with or without its system) and by date range', async () => {
      await app.open('records');
      expect((await app.searchRecords({ type: 'Observation' })).map((r) => r.what)).toEqual([
        'Blood pressure panel',
        'HbA1c',
      ]);
      expect((await app.searchRecords({ code: 'http://loinc.org|4548-4' })).map((r) => r.what)).toEqual(['HbA1c']);
      expect((await app.searchRecords({ code: '44054006' })).map((r) => r.what)).toEqual(['Type 2 diabetes mellitus']);
      // a component's code finds the panel it belongs to
      expect((await app.searchRecords({ code: '8480-6' })).map((r) => r.what)).toEqual(['Blood pressure panel']);
      expect((await app.searchRecords({ from: '2025-01-01', to: '2025-01-31' })).map((r) => r.what)).toEqual(['HbA1c']);
      // the form keeps what was searched for
      expect(await page.getByLabel('From', { exact: true }).inputValue()).toBe('2025-01-01');
      expect(await app.searchRecords({ code: 'no-such-code' })).toEqual([]);
      expect(await page.locator('[data-records-count="0"]').innerText()).toContain('No records match');
    });

    it('says what is wrong with a search instead of running it', async () => {
      const response = await page.goto(`${origin()}/records?from=not-a-date&code=http://loinc.org|`);
      expect(response?.status()).toBe(400);
      expect(await app.errorSummary()).toEqual([
        'Enter the “from” date as a real date',
        'Enter a code like 4548-4, or a code system and code like http://loinc.org|4548-4',
      ]);
      expect(await page.title()).toMatch(/^Error: /);
      expect(await page.getByLabel('Code', { exact: true }).getAttribute('aria-invalid')).toBe('true');
      expect(agent.callsOf('records')).toEqual([]);
    });

    it('downloads the selection as a FHIR Bundle', async () => {
      await app.open('records');
      const all = await app.exportBundle();
      expect(all.filename).toMatch(/^health-records-\d{4}-\d{2}-\d{2}\.json$/);
      expect(all.bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
      expect(all.bundle.entry).toHaveLength(4);

      await app.searchRecords({ type: 'Observation', code: 'http://loinc.org|4548-4' });
      const one = await app.exportBundle();
      expect(one.bundle.entry).toEqual([{ resource: HBA1C }]);
      expect(agent.callsOf('exportBundle').at(-1)).toEqual([
        { resourceType: 'Observation', system: 'http://loinc.org', code: '4548-4' },
      ]);

      const response = await page.request.get(`${origin()}/export.json`);
      expect(response.headers()['content-type']).toBe('application/fhir+json; charset=utf-8');
      expect(response.headers()['content-disposition']).toMatch(/^attachment; filename="health-records-.*\.json"$/);
      expect(response.headers()['cache-control']).toBe('no-store');
    });

    it('fetches new records with "Check for new records" and shows the report', async () => {
      const next = sampleDelivery('delivery-0003', 'Hospital1MSP', [
        {
          ...HBA1C,
          id: 'obs-hba1c-2',
          effectiveDateTime: '2025-03-01T09:00:00Z',
          valueQuantity: { value: 5.8, unit: '%' },
        },
      ]);
      agent.queueDelivery(next.delivery, next.elements);
      await app.open('records', { type: 'Observation' });
      const report = await app.checkForNewRecords();
      expect(report).toEqual({
        kind: 'success',
        title: '1 new delivery of records',
        lines: ['New records from Hospital1MSP were checked against the ledger and stored.'],
      });
      // back on the same search, with the new record in it
      expect(new URL(page.url()).searchParams.get('type')).toBe('Observation');
      expect((await app.recordsShown()).map((r) => r.value)).toContain('5.8 %');
      expect(await app.unreadCount()).toBe(3);
      // a reload does not repeat the notice (or the sync)
      await page.reload();
      expect(await app.notice()).toBeUndefined();
      expect(agent.callsOf('sync')).toHaveLength(1);
    });

    it('shows records from a C-CDA like any others, and the original document as text that never runs', async () => {
      const ccda = ccdaDelivery();
      agent.deliveryList.push(ccda.delivery);
      agent.elements.push(...ccda.elements);
      const dialogs: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      const requested: string[] = [];
      page.on('request', (r) => requested.push(new URL(r.url()).pathname));

      await app.open('records');
      const shown = await app.recordsShown();
      const ref = (type: string) => shown.find((r) => r.resourceType === type)?.ref ?? '';
      expect(shown).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            resourceType: 'Composition',
            what: 'Patient Chart Summary',
            code: 'LOINC 34133-9',
            value: 'Final, 2 sections',
            from: 'Hospital One',
          }),
          expect.objectContaining({
            resourceType: 'DocumentReference',
            what: 'Patient Chart Summary (C-CDA)',
            value: `C-CDA document (application/cda+xml), ${Buffer.byteLength(HOSTILE_CCDA_XML)} bytes`,
          }),
          expect.objectContaining({
            resourceType: 'Provenance',
            what: 'Converted from a document',
            value: '2 records',
          }),
          expect.objectContaining({ resourceType: 'AllergyIntolerance', what: 'Penicillin', value: 'Active' }),
        ]),
      );
      // found by the document's code and by type, like any other record
      const byCode = await app.searchRecords({ code: 'http://loinc.org|34133-9' });
      expect(byCode.map((r) => r.resourceType).sort()).toEqual(['Composition', 'DocumentReference']);
      expect((await app.searchRecords({ type: 'DocumentReference' })).map((r) => r.what)).toEqual([
        'Patient Chart Summary (C-CDA)',
      ]);

      await app.openRecord(ref('DocumentReference'));
      expect(await app.heading()).toBe('Patient Chart Summary (C-CDA)');
      expect(new URL(page.url()).pathname).toBe(`/records/${ref('DocumentReference')}`);
      expect(await app.documentTexts()).toEqual([HOSTILE_CCDA_XML]);
      // the document's markup is characters on the page: no element of it exists, nothing ran or loaded
      expect(await page.locator('script, img, iframe, object, embed, linkHtml, ClinicalDocument').count()).toBe(0);
      expect(await page.locator('a[href^="javascript:"], [onerror]').count()).toBe(0);
      expect(await page.evaluate('document.scripts.length')).toBe(0);
      expect(dialogs).toEqual([]);
      expect(requested.filter((p) => p.endsWith('/x'))).toEqual([]);
      await page.screenshot({ path: `${SCREENSHOTS}/record-ccda-document.png`, fullPage: true });
      expect(await structureProblems(page)).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);
      expect(await page.locator('nav [aria-current="page"]').getAttribute('href')).toBe('/records');

      // the Composition's sections as their words, not as the hospital's layout
      await app.open('records');
      await app.openRecord(ref('Composition'));
      expect(await app.sectionsShown()).toEqual([
        {
          title: 'ALLERGIES',
          text: expect.stringMatching(/^Substance\s+Reaction\nPenicillin\s+Hives & rash\s+details$/),
        },
        { title: 'Medications', text: 'No text.' },
      ]);
      expect(await page.locator('main b, main img, main table, main a[href^="javascript:"]').count()).toBe(0);
      expect(await axeViolations(page)).toEqual([]);
      expect(dialogs).toEqual([]);

      // an address that is not a record says so
      const missing = await page.goto(`${origin()}/records/${ccda.delivery.deliveryId}/no-such-segment`);
      expect(missing?.status()).toBe(404);
      expect(await app.heading()).toBe('Record not found');
    });

    it('shows a Synthea patient’s repeated results as trends: accessible charts with every value in a table', async () => {
      // this patient's records only
      const synthea = syntheaDelivery();
      agent.deliveryList = [synthea.delivery];
      agent.elements = synthea.elements;
      const consoleMessages: string[] = [];
      page.on('console', (m) => consoleMessages.push(m.text()));
      // what the fixture itself holds: each HbA1c result, by date, its number as written
      const day = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium' });
      const hba1cInFixture = syntheaResources(SYNTHEA_TRENDS_PATIENT)
        .filter((r) => r.resourceType === 'Observation' && JSON.stringify(r.code).includes('"4548-4"'))
        .map((r) => ({
          time: r.effectiveDateTime as string,
          quantity: r.valueQuantity as { value: ExactNumber; unit: string },
        }))
        .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
      expect(hba1cInFixture.length).toBeGreaterThanOrEqual(5);

      await app.open('records');
      const trends = await app.trendsShown();
      expect(trends.map((t) => t.id)).toEqual(['hba1c', 'blood-pressure', 'body-weight', 'total-cholesterol']);
      const [hba1c, bloodPressure, weight, cholesterol] = trends;
      expect(hba1c).toMatchObject({ title: 'HbA1c', codes: 'LOINC 4548-4', columns: ['Result'], notes: [] });
      expect(hba1c?.rows).toEqual(
        hba1cInFixture.map((r) => ({
          date: day.format(Date.parse(r.time)),
          values: [`${numberText(r.quantity.value)} ${r.quantity.unit}`],
        })),
      );
      // Synthea writes more digits than a double keeps: the page shows them all, as written
      expect(hba1c?.rows.map((r) => r.values[0])).toContain('6.0201104577476094 %');
      expect(hba1c?.chart).toMatchObject({ title: 'HbA1c over time, in %', points: hba1cInFixture.length });
      expect(hba1c?.chart?.description).toMatch(
        new RegExp(`^${hba1cInFixture.length} results from ${day.format(Date.parse(hba1cInFixture[0]!.time))} to `),
      );
      // assistive technology meets one image, named by its title
      expect(await page.getByRole('img', { name: 'HbA1c over time, in %' }).count()).toBe(1);

      expect(bloodPressure).toMatchObject({ title: 'Blood pressure', columns: ['Systolic', 'Diastolic'], notes: [] });
      expect(bloodPressure?.rows.length).toBeGreaterThanOrEqual(2);
      expect(bloodPressure?.rows.every((r) => r.values.every((v) => / mm\[Hg\]$/.test(v)))).toBe(true);
      expect(bloodPressure?.chart?.points).toBe(2 * (bloodPressure?.rows.length ?? 0));
      expect(weight?.chart?.title).toBe('Body weight over time, in kg');
      expect(cholesterol?.chart?.title).toBe('Total cholesterol over time, in mg/dL');

      await page.locator('section[data-trends]').screenshot({ path: `${SCREENSHOTS}/records-trends.png` });
      expect(await structureProblems(page)).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);
      // drawn by the agent: no script, and nothing the CSP had to refuse
      expect(await page.evaluate('document.scripts.length')).toBe(0);
      expect(consoleMessages.filter((m) => /Content Security Policy/i.test(m))).toEqual([]);

      // a code search shows that code's trend alone, over the same dates as the records
      await app.searchRecords({ code: '8480-6', from: '2015-01-01' });
      const searched = await app.trendsShown();
      expect(searched.map((t) => t.id)).toEqual(['blood-pressure']);
      expect(searched[0]?.rows.every((r) => Number(r.date.slice(-4)) >= 2015)).toBe(true);
      // a search for another type of record shows no trend
      await app.searchRecords({ type: 'Condition' });
      expect(await app.trendsShown()).toEqual([]);
    });

    it('shows a failing agent as a plain message with a fitting status, never a stack', async () => {
      agent.failNext('records', agentError('UNAVAILABLE', 'ledger unavailable: 14 UNAVAILABLE: connect ECONNREFUSED'));
      const response = await page.goto(`${origin()}/records`);
      expect(response?.status()).toBe(503);
      const [problem] = await app.problems();
      expect(problem).toContain('could not be reached just now');
      const html = await page.content();
      expect(html).not.toMatch(/ECONNREFUSED|at .*\.ts:\d+/);

      agent.failNext('accessLog', new TypeError("Cannot read properties of undefined (reading 'x')"));
      const failed = await page.goto(`${origin()}/access-log`);
      expect(failed?.status()).toBe(500);
      expect(await page.content()).not.toContain('Cannot read properties');
      expect((await app.problems())[0]).toContain('Something went wrong inside your agent');
    });
  });

  describe('Access log', () => {
    it('shows every access newest first, with emergency access flagged', async () => {
      const rows = await app.accessLogShown();
      expect(rows.map((r) => r.eventId)).toEqual(['event-0003', 'event-0002', 'event-0001']);
      expect(rows[0]).toMatchObject({
        breakGlass: true,
        who: 'Hospital2MSP (clinician)',
        action: 'Read your records',
        purpose: 'Emergency treatment (ETREAT)',
        outcome: 'Done',
      });
      expect(rows[0]?.summary).toMatch(/^Emergency access/);
      expect(rows[1]).toMatchObject({ breakGlass: false, outcome: 'Refused', purpose: 'Treatment (TREAT)' });
      expect(rows[2]).toMatchObject({ purpose: 'not given', action: 'Sent you records' });
      expect(rows[0]?.when).toMatch(/^\d{1,2} Feb 2025, \d{2}:\d{2}$/);
      expect(await page.locator('main').innerText()).toContain('1 was emergency access without your consent');
    });
  });

  describe('Consents', () => {
    it('lists consents in force and revoked ones, in words', async () => {
      const shown = await app.consentsShown();
      expect(shown).toEqual([
        expect.objectContaining({
          consentId: 'consent-fixture-active',
          state: 'active',
          who: 'Hospital Two (Hospital2MSP)',
          records: 'Vaccinations',
          purposes: 'Treatment (TREAT)',
          status: 'Active',
        }),
        expect.objectContaining({
          consentId: 'consent-fixture-revoked',
          state: 'revoked',
          records: 'LOINC 4548-4',
          purposes: 'Research (HRESCH)',
        }),
      ]);
      expect(shown[1]?.status).toMatch(/^Revoked on 1 Mar 2024/);
    });

    it('grants a consent from the form and the agent receives exactly that', async () => {
      const end = inDays(30);
      const consentId = await app.grantConsent({
        grantee: { kind: 'organization', id: 'Hospital1MSP' },
        categories: ['laboratory', 'vital-signs'],
        codes: ['http://loinc.org|4548-4'],
        purposes: ['TREAT', 'HRESCH'],
        end,
      });
      const [[request]] = agent.callsOf('grantConsent') as [[Record<string, unknown>]];
      expect(request).toEqual({
        grantee: { kind: 'organization', id: 'Hospital1MSP' },
        scope: { categories: ['laboratory', 'vital-signs'], codes: [{ system: 'http://loinc.org', code: '4548-4' }] },
        purposes: ['TREAT', 'HRESCH'],
        // the last day is included: the consent ends at the next local midnight
        end: new Date(new Date(`${end}T00:00:00`).getTime() + 86_400_000).toISOString(),
      });
      expect(agent.consentList.find((c) => c.consentId === consentId)?.status).toBe('active');

      expect(await app.notice()).toEqual({
        kind: 'success',
        title: 'Consent given',
        lines: [
          'Hospital One (Hospital1MSP) may now read: Laboratory results; Vital signs (blood pressure, pulse…); LOINC 4548-4. The ledger has recorded it.',
        ],
      });
      const row = (await app.consentsShown()).find((c) => c.consentId === consentId);
      expect(row).toMatchObject({
        state: 'active',
        who: 'Hospital One (Hospital1MSP)',
        purposes: 'Research (HRESCH), Treatment (TREAT)',
      });
      // a reload of the redirected page does not grant again
      await page.reload();
      expect(agent.callsOf('grantConsent')).toHaveLength(1);
    });

    it('grants to one person from a future start date', async () => {
      const person = `id${'0a'.repeat(20)}`;
      await app.grantConsent({
        grantee: { kind: 'identity', id: person },
        categories: ['medication'],
        purposes: ['PATRQT'],
        start: inDays(2),
        end: inDays(9),
      });
      const [[request]] = agent.callsOf('grantConsent') as [[{ start?: string; grantee: unknown }]];
      expect(request.grantee).toEqual({ kind: 'identity', id: person });
      expect(request.start).toBe(new Date(`${inDays(2)}T00:00:00`).toISOString());
      const shown = await app.consentsShown();
      expect(shown.find((c) => c.who.includes(person))).toMatchObject({
        state: 'not-started',
        status: 'Starts later',
      });
    });

    it('revokes a consent after a confirmation step', async () => {
      await app.open('consents');
      await app.follow(
        page.locator('tr[data-consent-id="consent-fixture-active"]').getByRole('link', { name: /^Revoke/ }),
      );
      expect(await app.heading()).toBe('Revoke this consent?');
      // "No, keep it" changes nothing
      await app.follow(page.getByRole('link', { name: 'No, keep it' }));
      expect(agent.callsOf('revokeConsent')).toEqual([]);

      const notice = await app.revokeConsent('consent-fixture-active');
      expect(notice.title).toBe('Consent revoked');
      expect(notice.lines[0]).toContain('Hospital Two (Hospital2MSP) can no longer read Vaccinations');
      expect(agent.callsOf('revokeConsent')).toEqual([['consent-fixture-active']]);
      const record = agent.consentList.find((c) => c.consentId === 'consent-fixture-active');
      expect(record?.status).toBe('revoked');
      expect(record?.revokedAt).toEqual(expect.any(String));
      const shown = await app.consentsShown();
      expect(shown.find((c) => c.consentId === 'consent-fixture-active')?.state).toBe('revoked');
      expect(await page.locator('table[data-consents="in-force"]').count()).toBe(0);
    });

    it('grants and then revokes the same consent, all from the page', async () => {
      const consentId = await app.grantConsent({
        grantee: { kind: 'organization', id: 'Hospital2MSP' },
        categories: ['laboratory'],
        purposes: ['TREAT'],
        end: inDays(7),
      });
      await app.revokeConsent(consentId);
      expect(agent.consentList.find((c) => c.consentId === consentId)?.status).toBe('revoked');
      expect((await app.consentsShown()).find((c) => c.consentId === consentId)?.state).toBe('revoked');
    });

    it('re-shows the form with every problem named and what was entered kept', async () => {
      await app.open('consents');
      const form = page.locator('form[action="/consents"]');
      await form.getByLabel('Their ID', { exact: true }).fill('Hospital 1');
      await form.getByLabel('Exact codes (optional)').fill('http://loinc.org|4548-4\nnot a code');
      await form.getByLabel('Last day').fill(inDays(-3));
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'),
        app.follow(form.getByRole('button', { name: 'Give access' })),
      ]);
      expect(response.status()).toBe(422);
      expect(await app.errorSummary()).toEqual([
        'The ID cannot contain spaces',
        'Line 2 of the codes is not a code system and code, like http://loinc.org|4548-4',
        'Choose at least one purpose',
        'The last day must be on or after the start date',
      ]);
      expect(await page.title()).toMatch(/^Error: Consents/);
      expect(await page.getByLabel('Their ID', { exact: true }).inputValue()).toBe('Hospital 1');
      expect(await page.getByLabel('Exact codes (optional)').inputValue()).toBe('http://loinc.org|4548-4\nnot a code');
      expect(await page.getByLabel('Their ID', { exact: true }).getAttribute('aria-describedby')).toContain(
        'granteeId-error',
      );
      // each summary entry leads to its field
      await page.getByRole('link', { name: 'Choose at least one purpose' }).click();
      expect(await page.evaluate('document.activeElement.id')).toBe('purpose-TREAT');

      // an empty form names the record choice too, and keeps the ticked boxes on the next try
      await page.locator('#category-laboratory').check();
      await page.getByLabel('Exact codes (optional)').fill('');
      await app.follow(page.getByRole('button', { name: 'Give access' }));
      expect(await page.locator('#category-laboratory').isChecked()).toBe(true);
      expect(await app.errorSummary()).not.toContain('Choose at least one kind of record, or enter a code');
      await app.open('consents');
      await app.follow(page.getByRole('button', { name: 'Give access' }));
      expect(await app.errorSummary()).toEqual([
        'Enter the ID of who gets access, for example Hospital1MSP',
        'Choose at least one kind of record, or enter a code',
        'Choose at least one purpose',
        'Enter the last day the consent applies',
      ]);
      expect(agent.callsOf('grantConsent')).toEqual([]);
    });

    it('puts the agent’s own objection next to its field', async () => {
      await app.submitGrantForm({
        grantee: { kind: 'organization', id: 'Hospital_1' },
        categories: ['laboratory'],
        purposes: ['TREAT'],
        end: inDays(5),
      });
      expect(agent.callsOf('grantConsent')).toHaveLength(1);
      expect(await app.errorSummary()).toEqual(['The organisation must be given by its MSP ID, e.g. Hospital2MSP']);
      expect(await page.locator('#granteeId-error').innerText()).toContain('must be given by its MSP ID');
      expect(await page.getByLabel('Their ID', { exact: true }).inputValue()).toBe('Hospital_1');
      expect(agent.consentList).toHaveLength(2);
    });

    it('shows a refusal by the ledger above the form, keeping the input', async () => {
      agent.failNext('grantConsent', agentError('INVALID_ARGUMENT', 'scope has an invalid category code'));
      await expect(
        app.grantConsent({
          grantee: { kind: 'organization', id: 'Hospital1MSP' },
          categories: ['laboratory'],
          purposes: ['TREAT'],
          end: inDays(5),
        }),
      ).rejects.toThrow('The ledger did not accept this: scope has an invalid category code.');
      expect(await page.locator('#category-laboratory').isChecked()).toBe(true);
      expect(await page.getByLabel('Their ID', { exact: true }).inputValue()).toBe('Hospital1MSP');
    });
  });

  describe('Notifications', () => {
    it('emphasises unread ones, counts them in the header and marks them read', async () => {
      await app.open('records');
      expect(await app.unreadCount()).toBe(2);
      expect(await page.locator('header').innerText()).toContain('2 unread notifications');
      const before = await app.notificationsShown();
      expect(before.map((n) => n.read)).toEqual([false, false, true]);
      expect(before[0]?.text).toMatch(/^New\s+Hospital2MSP used emergency access/);
      expect(await page.evaluate("getComputedStyle(document.querySelector('li.unread')).fontWeight")).toBe('600');

      await app.markAllNotificationsRead();
      expect(agent.callsOf('markNotificationsRead')).toEqual([[undefined]]);
      expect(await app.notice()).toMatchObject({ title: 'All notifications marked as read' });
      expect((await app.notificationsShown()).every((n) => n.read)).toBe(true);
      expect(await app.unreadCount()).toBe(0);
      expect(await page.getByRole('button', { name: 'Mark all as read' }).count()).toBe(0);
    });
  });

  describe('Backup & recovery', () => {
    it('backs up to the chosen hospital and shows the recovery code once', async () => {
      const hospital = agent.hospitals[1]?.name as string;
      const first = await app.backupToHospital(hospital);
      expect(first).toMatchObject({ kind: 'success', title: 'Backup made' });
      expect(first.codes).toEqual(['PHRR-TEST-CODE-0000-0000']);
      expect(agent.callsOf('backup')).toEqual([[{ to: 'gateway', hospital }]]);
      // the status says where it is; a reload does not show the code again
      expect(await page.locator('[data-last-backup]').innerText()).toContain(hospital);
      await page.reload();
      expect(await page.content()).not.toContain('PHRR-TEST-CODE');
      const second = await app.backupToHospital(hospital);
      expect(second.codes).toBeUndefined();
      expect(await page.content()).not.toContain('PHRR-');
    });

    it('backs up to a folder, and shows the recovery code once, to write down or print alone', async () => {
      const first = await app.backupToFolder('~/health-backup');
      const dir = join(homedir(), 'health-backup');
      expect(agent.callsOf('backup')).toEqual([[{ to: 'folder', dir }]]);
      expect(first).toMatchObject({ kind: 'success', title: 'Backup made' });
      expect(first.lines[0]).toContain(`kept at ${dir}`);
      expect(first.codes).toEqual(['PHRR-TEST-CODE-0000-0000']);
      expect(await page.locator('[data-one-time-codes]').innerText()).toMatch(/Write these down now.*only this once/);
      expect(await page.locator('[data-backup-places]').innerText()).toContain(dir);
      expect(await structureProblems(page)).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);
      await page.screenshot({ path: `${SCREENSHOTS}/backup-recovery-code.png`, fullPage: true });
      // printed, the page is the code and what it is for, nothing else
      await page.emulateMedia({ media: 'print' });
      expect(await page.locator('[data-code]').isVisible()).toBe(true);
      for (const hidden of ['.site-header', 'footer', 'main > h1', 'form[action="/backup/folder"]', '.notice > h2']) {
        expect(await page.locator(hidden).first().isVisible()).toBe(false);
      }
      await page.emulateMedia({ media: 'screen' });
      // nothing keeps it: not a reload, not the address, not the next backup
      expect(page.url()).not.toContain('PHRR');
      await page.reload();
      expect(await page.content()).not.toContain('PHRR-');
      const again = await app.backupToFolder(dir);
      expect(again.codes).toBeUndefined();
      expect(agent.callsOf('backup')).toHaveLength(2);
    });

    it('names what is wrong with a folder next to it, keeping what was typed, and never shows a stack', async () => {
      await app.submitFolderBackup('backups');
      expect(await app.errorSummary()).toEqual([
        'Enter the folder’s full path, starting with / (or ~/ for your home folder)',
      ]);
      const field = page.getByLabel('Folder', { exact: true });
      expect(await field.inputValue()).toBe('backups');
      expect(await field.getAttribute('aria-invalid')).toBe('true');
      expect(await page.title()).toMatch(/^Error: /);
      expect(agent.callsOf('backup')).toEqual([]);
      expect(await structureProblems(page)).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);

      // what only the disk can say comes back from the agent, also next to the field
      const denied = Object.assign(new Error("EACCES: permission denied, mkdir '/srv/x/ptabc'\n    at mkdirSync"), {
        code: 'EACCES',
      });
      agent.failNext('backup', denied);
      await app.submitFolderBackup('/srv/x');
      expect(await app.errorSummary()).toEqual([
        'Your agent may not write to this folder: choose one you can write to',
      ]);
      expect(await page.getByLabel('Folder', { exact: true }).inputValue()).toBe('/srv/x');
      expect(await page.content()).not.toMatch(/permission denied|mkdirSync/);

      // and what is not the folder's fault, above the form
      agent.failNext('backup', agentError('UNAVAILABLE', 'ledger unavailable'));
      await app.submitFolderBackup('/srv/y');
      expect(await app.errorSummary()).toEqual([]);
      expect((await app.problems()).join(' ')).toMatch(/The backup was not made.*could not be reached/s);
      expect(agent.callsOf('backup')).toEqual([[{ to: 'folder', dir: '/srv/x' }], [{ to: 'folder', dir: '/srv/y' }]]);
    });

    it('sets up recovery with guardians and paper codes, shows the codes once, then the setup', async () => {
      const guardians = ['ptguardianaaaaaaaaaaaaaaaaaa', 'ptguardianbbbbbbbbbbbbbbbbbb'];
      const hospital = agent.hospitals[1]?.name as string;
      await app.open('backup');
      expect(await page.locator('[data-recovery-setup]').innerText()).toContain('You have not set up recovery');
      const notice = await app.setUpRecovery({ guardians, paper: 1, threshold: 2, hospital });
      expect(agent.callsOf('setupRecovery')).toEqual([[{ guardians, paper: 1, threshold: 2, hospital }]]);
      expect(notice).toMatchObject({ kind: 'success', title: 'Recovery is set up' });
      expect(notice.lines[0]).toBe('Any 2 of these 3 shares rebuild your recovery secret; fewer tell nothing.');
      expect(notice.lines[1]).toContain(`through ${hospital}`);
      // the recovery secret was made by this setup: its code comes with the paper code, each once
      expect(notice.codes).toEqual(['PHRS-TEST-PAPR-0001', 'PHRR-TEST-CODE-0000-0000']);
      const blocks = await page.locator('[data-codes]').all();
      expect(await Promise.all(blocks.map((b) => b.getAttribute('data-codes')))).toEqual([
        'Your paper code',
        'Your recovery code',
      ]);
      expect(await page.locator('[data-recovery-threshold]').innerText()).toBe('any 2 of 3 shares');
      expect(await page.locator('[data-recovery-guardians]').innerText()).toBe(guardians.join(', '));
      expect(await structureProblems(page)).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);
      await page.screenshot({ path: `${SCREENSHOTS}/recovery-paper-codes.png`, fullPage: true });
      await page.reload();
      expect(await page.content()).not.toMatch(/PHRS-|PHRR-/);

      // set up again: new paper codes, and the recovery code is not shown a second time
      const again = await app.setUpRecovery({ guardians: [], paper: 3, threshold: 2 });
      expect(agent.callsOf('setupRecovery').at(-1)).toEqual([
        { guardians: [], paper: 3, threshold: 2, hospital: agent.hospitals[0]?.name },
      ]);
      expect(again.codes).toEqual(['PHRS-TEST-PAPR-0001', 'PHRS-TEST-PAPR-0002', 'PHRS-TEST-PAPR-0003']);
      expect(await page.getByRole('button', { name: 'Set up recovery again' }).count()).toBe(1);
    });

    it('names each problem of the setup form next to its field, and the agent’s refusal of a guardian', async () => {
      await app.submitRecoverySetup({ guardians: ['alice'], paper: 1, threshold: 1 });
      expect(await app.errorSummary()).toEqual([
        '“alice” is not a pseudonym: they start with pt, followed by 26 letters and digits',
        'At least 2 shares must be needed: one alone must never be enough',
      ]);
      expect(await page.getByLabel('Guardians’ pseudonyms').inputValue()).toBe('alice');
      expect(await page.getByLabel('Shares needed to recover').getAttribute('aria-invalid')).toBe('true');
      expect(agent.callsOf('setupRecovery')).toEqual([]);
      expect(await structureProblems(page)).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);

      const stranger = 'ptunknownaaaaaaaaaaaaaaaaaaa';
      await app.submitRecoverySetup({ guardians: [stranger], paper: 1, threshold: 2 });
      expect(await app.errorSummary()).toEqual([`Guardian ${stranger} is not a registered patient`]);
      expect(await page.getByLabel('Guardians’ pseudonyms').inputValue()).toBe(stranger);

      agent.failNext('setupRecovery', new RecoveryError('NOT_DELIVERED', 'the share for guardian x could not be sent'));
      await app.submitRecoverySetup({ guardians: [], paper: 2, threshold: 2 });
      expect((await app.problems()).join(' ')).toMatch(
        /Recovery was not set up.*Not every share could be sent: the share for guardian x could not be sent\./s,
      );
      expect(await page.content()).not.toContain('PHRS-');
      expect(agent.recoveryState.setup).toBeUndefined();
    });

    it('lists the requests that reached a guardian with their check codes; approve after checking it, or deny', async () => {
      const now = Date.now();
      agent.receiveRecoveryRequest({
        requestId: 'rq-second-request',
        pseudonym: 'ptsecondaaaaaaaaaaaaaaaaaaaa',
        checkCode: '1111-2222',
      });
      agent.receiveRecoveryRequest({
        requestId: 'rq-expired-request',
        pseudonym: 'ptthirdaaaaaaaaaaaaaaaaaaaaa',
        checkCode: '3333-4444',
        expiresAt: new Date(now - 1000).toISOString(),
      });
      expect(await app.recoveryRequestsShown()).toEqual([
        {
          requestId: 'rq-expired-request',
          state: 'expired',
          patient: 'ptthirdaaaaaaaaaaaaaaaaaaaaa',
          checkCode: '3333-4444',
        },
        {
          requestId: 'rq-second-request',
          state: 'pending',
          patient: 'ptsecondaaaaaaaaaaaaaaaaaaaa',
          checkCode: '1111-2222',
        },
        {
          requestId: SAMPLE_RECOVERY_REQUEST,
          state: 'pending',
          patient: 'ptguardedaaaaaaaaaaaaaaaaaaa',
          checkCode: '4821-0937',
        },
      ]);
      expect(await page.locator('[data-guarded-patient]').count()).toBe(3);
      // an expired request can only be denied
      const expired = page.locator('tr[data-recovery-request="rq-expired-request"]');
      expect(await expired.getByRole('link', { name: /^Approve/ }).count()).toBe(0);
      expect(await expired.getByRole('button', { name: /^Deny/ }).count()).toBe(1);

      // the notification of a request leads here
      agent.notify(
        'recovery',
        'A new device asks to recover patient ptsecondaaaaaaaaaaaaaaaaaaaa',
        'request:rq-second-request',
      );
      await app.open('notifications');
      await app.follow(page.getByRole('link', { name: 'Answer it on Backup & recovery' }));
      expect(new URL(page.url()).pathname + new URL(page.url()).hash).toBe('/backup#recovery-requests');

      const approved = await app.approveRecoveryRequest(SAMPLE_RECOVERY_REQUEST, '4821-0937');
      expect(approved).toMatchObject({ kind: 'success', title: 'Approved: your share was sent' });
      expect(approved.lines[0]).toContain('ptguardedaaaaaaaaaaaaaaaaaaa');
      expect(agent.callsOf('approveRecovery')).toEqual([[SAMPLE_RECOVERY_REQUEST]]);

      const denied = await app.denyRecoveryRequest('rq-second-request');
      expect(denied).toMatchObject({ kind: 'success', title: 'Denied: nothing was sent' });
      expect(agent.callsOf('denyRecovery')).toEqual([['rq-second-request']]);
      expect((await app.recoveryRequestsShown()).map((r) => r.state)).toEqual(['expired', 'denied', 'approved']);
      // answered: no buttons left on those rows, and the confirmation page sends back to the list
      expect(await page.locator('tr[data-state="approved"] button, tr[data-state="denied"] button').count()).toBe(0);
      await page.goto(`${origin()}/backup/recovery-requests/${SAMPLE_RECOVERY_REQUEST}`);
      expect(await app.notice()).toMatchObject({ title: 'You already approved this request' });
    });

    it('says why a guardian’s answer failed, and refuses a request it does not know', async () => {
      await app.open('backup');
      await app.follow(
        page.locator(`tr[data-recovery-request="${SAMPLE_RECOVERY_REQUEST}"]`).getByRole('link', { name: /^Approve/ }),
      );
      agent.failNext(
        'approveRecovery',
        new RecoveryError('NOT_GUARDIAN', 'patient ptx no longer names you as a guardian'),
      );
      await app.follow(page.getByRole('button', { name: 'Yes, the code matches: send my share' }));
      expect(await app.notice()).toEqual({
        kind: 'error',
        title: 'Your share was not sent',
        lines: ['You cannot answer this request: patient ptx no longer names you as a guardian.'],
      });
      const token = await csrfToken();
      const unknown = await page.request.post(`${origin()}/backup/recovery-requests/rq-no-such-request/approve`, {
        form: { _csrf: token },
        headers: { Origin: origin() },
      });
      expect(await unknown.text()).toContain('This recovery request is not known to your agent');
      const missing = await page.goto(`${origin()}/backup/recovery-requests/rq-no-such-request`);
      expect(missing?.status()).toBe(404);
      expect(await app.heading()).toBe('Recovery request not found');
    });

    it('says in one sentence, with the commands, that restore and recovery run in the new device’s terminal', async () => {
      await app.open('backup');
      const said = await page.locator('[data-cli-only]').innerText();
      for (const command of [
        'phr-agent restore --from DIR|gateway',
        'phr-agent recovery start',
        'phr-agent recovery finish',
      ]) {
        expect(said).toContain(command);
      }
      expect(said.trim().match(/[.!?](\s|$)/g)).toHaveLength(1);
    });

    it('refuses a hospital that is not in the list, and says why a backup failed', async () => {
      await app.open('backup');
      const token = await csrfToken();
      await page.request.post(`${origin()}/backup`, {
        form: { _csrf: token, hospital: 'Nowhere' },
        headers: { Origin: origin() },
      });
      expect(agent.callsOf('backup')).toEqual([]);
      agent.failNext('backup', agentError('UNAVAILABLE', 'ledger unavailable'));
      const notice = await app.backupToHospital(agent.hospitals[0]?.name as string);
      expect(notice).toMatchObject({ kind: 'error', title: 'The backup was not made' });
      expect(notice.lines.join(' ')).toMatch(/could not be reached/);
    });

    it('rebuilds from the hospitals, a line per delivery with why not', async () => {
      agent.rebuildable = [
        { deliveryId: 'delivery-0009', hospital: 'hospital1', result: 'rebuilt' },
        {
          deliveryId: 'delivery-0010',
          hospital: 'hospital2',
          result: 'not-rebuilt',
          reason: 'the hospital’s copy has expired',
        },
      ];
      const notice = await app.rebuildRecords();
      expect(notice.kind).toBe('error');
      expect(notice.title).toBe('1 delivery rebuilt, 1 not');
      expect(notice.lines).toEqual([
        'Delivery delivery-0009 from hospital1: rebuilt and verified against the ledger.',
        'Delivery delivery-0010 from hospital2: not rebuilt — the hospital’s copy has expired.',
      ]);
      expect(agent.callsOf('rebuild')).toHaveLength(1);
    });

    it('erases only after ERASE is typed on the confirmation page, then lists the receipts', async () => {
      await app.open('backup');
      await app.follow(page.getByRole('link', { name: 'Erase my records…' }));
      expect(await app.heading()).toBe('Erase all your records?');
      await page.getByLabel(/Type ERASE to confirm/).fill('erase');
      await app.follow(page.getByRole('button', { name: 'Erase everything' }));
      expect(await app.errorSummary()).toEqual(['Type ERASE to confirm the erasure']);
      expect(agent.callsOf('erase')).toEqual([]);
      expect(await structureProblems(page)).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);

      const shown = await app.eraseRecords();
      expect(agent.callsOf('erase')).toHaveLength(1);
      expect(await app.heading()).toBe('Your records are erased');
      expect(shown.join('\n')).toMatch(/destroyed 1 mailbox messages .*receipt receipt-/);
      expect(shown.join('\n')).toMatch(/keeps 3 standardized records: hospital record retention law/);
    });

    it('refuses an erase, backup or recovery POST without the page token', async () => {
      const forged = await page.request.post(`${origin()}/backup/erase`, {
        form: { confirm: 'ERASE' },
        headers: { Origin: origin() },
      });
      expect(forged.status()).toBe(403);
      expect(agent.callsOf('erase')).toEqual([]);
      const posts: [string, Record<string, string>][] = [
        ['/backup/folder', { dir: '/tmp/stolen' }],
        ['/backup/recovery', { guardians: 'ptguardianaaaaaaaaaaaaaaaaaa', paper: '1', threshold: '2' }],
        [`/backup/recovery-requests/${SAMPLE_RECOVERY_REQUEST}/approve`, {}],
        [`/backup/recovery-requests/${SAMPLE_RECOVERY_REQUEST}/deny`, {}],
      ];
      for (const [path, form] of posts) {
        const response = await page.request.post(`${origin()}${path}`, {
          form: { ...form, _csrf: 'x'.repeat(43) },
          headers: { Origin: origin() },
        });
        expect(response.status()).toBe(403);
      }
      for (const method of ['backup', 'setupRecovery', 'approveRecovery', 'denyRecovery'] as const) {
        expect(agent.callsOf(method)).toEqual([]);
      }
    });
  });

  describe('protection', () => {
    it('refuses a POST without the page token (CSRF) and changes nothing', async () => {
      await app.open('consents');
      const form = {
        granteeKind: 'organization',
        granteeId: 'Evil',
        categories: 'laboratory',
        purposes: 'TREAT',
        end: inDays(3),
      };
      const missing = await page.request.post(`${origin()}/consents`, { form, headers: { Origin: origin() } });
      expect(missing.status()).toBe(403);
      expect(await missing.text()).toContain('This form could not be accepted');
      const wrong = await page.request.post(`${origin()}/consents/consent-fixture-active/revoke`, {
        form: { _csrf: 'x'.repeat(43) },
        headers: { Origin: origin() },
      });
      expect(wrong.status()).toBe(403);
      expect(agent.callsOf('grantConsent')).toEqual([]);
      expect(agent.callsOf('revokeConsent')).toEqual([]);
    });

    it('refuses requests for another host name (DNS rebinding) and from another origin', async () => {
      const port = new URL(ui.url).port;
      const rebound = await rawRequest(`${origin()}/consents`, { headers: { Host: `evil.example:${port}` } });
      expect(rebound.status).toBe(403);
      expect(rebound.body).not.toContain('_csrf');
      const wrongPort = await rawRequest(`${origin()}/records`, { headers: { Host: '127.0.0.1:1' } });
      expect(wrongPort.status).toBe(403);
      expect((await rawRequest(`${origin()}/records`, { headers: { Host: `localhost:${port}` } })).status).toBe(200);

      await app.open('consents');
      const token = await csrfToken();
      const foreign = await page.request.post(`${origin()}/notifications/read`, {
        form: { _csrf: token },
        headers: { Origin: 'http://evil.example' },
      });
      expect(foreign.status()).toBe(403);
      const crossSite = await rawRequest(`${origin()}/notifications/read`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Sec-Fetch-Site': 'cross-site' },
        body: `_csrf=${encodeURIComponent(token)}`,
      });
      expect(crossSite.status).toBe(403);
      // "Origin: null" (sandboxed frames, data: URLs) counts only when the browser vouches same-origin
      const nullOrigin = await rawRequest(`${origin()}/notifications/read`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'null' },
        body: `_csrf=${encodeURIComponent(token)}`,
      });
      expect(nullOrigin.status).toBe(403);
      // the export writes an access event to the ledger, so another site may not trigger it either
      const exportFromElsewhere = await rawRequest(`${origin()}/export.json`, {
        headers: { 'Sec-Fetch-Site': 'cross-site' },
      });
      expect(exportFromElsewhere.status).toBe(403);
      expect(agent.callsOf('exportBundle')).toEqual([]);
      expect(agent.callsOf('markNotificationsRead')).toEqual([]);
      // the same POST from the page's own origin, with the token, goes through
      const own = await page.request.post(`${origin()}/notifications/read`, {
        form: { _csrf: token },
        headers: { Origin: origin() },
        maxRedirects: 0,
      });
      expect(own.status()).toBe(303);
      expect(agent.callsOf('markNotificationsRead')).toHaveLength(1);
    });

    it('sends strict security headers on every page, and a plain 404', async () => {
      const record = '/records/delivery-0001/delivery-0001-s0';
      for (const path of ['/records', record, '/access-log', '/consents', '/notifications', '/ui.css', '/nowhere']) {
        const response = await page.request.get(`${origin()}${path}`);
        const headers = response.headers();
        expect(headers['content-security-policy']).toBe(
          "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        );
        expect(headers['x-content-type-options']).toBe('nosniff');
        expect(headers['referrer-policy']).toBe('no-referrer');
        expect(headers['cache-control']).toBe('no-store');
        expect(response.status()).toBe(path === '/nowhere' ? 404 : 200);
      }
      await page.goto(`${origin()}/nowhere`);
      expect(await app.heading()).toBe('Page not found');
    });

    it('refuses to listen anywhere but 127.0.0.1', async () => {
      await expect(startUi(agent, { host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(/127\.0\.0\.1 only/);
    });
  });

  describe('accessibility', () => {
    const pages: [string, string][] = [
      ['Records', '/records'],
      ['Records, invalid search', '/records?from=nonsense'],
      ['Record', '/records/delivery-0001/delivery-0001-s0'],
      ['Access log', '/access-log'],
      ['Consents', '/consents'],
      ['Revoke confirmation', '/consents/consent-fixture-active/revoke'],
      ['Notifications', '/notifications'],
      ['Backup & recovery', '/backup'],
      ['Erase confirmation', '/backup/erase'],
      ['Approve recovery request', `/backup/recovery-requests/${SAMPLE_RECOVERY_REQUEST}`],
      ['Not found', '/nowhere'],
    ];

    it.each(pages)('%s has no axe violations and a sound structure', async (name, path) => {
      await page.goto(`${origin()}${path}`);
      // kept for review (CI keeps test-results/); not compared, so fonts may differ between machines
      await page.screenshot({ path: `${SCREENSHOTS}/${name.replace(/\W+/g, '-').toLowerCase()}.png`, fullPage: true });
      expect(await structureProblems(page)).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);
      // the nav says where we are
      const section = path.split(/[/?]/)[1];
      if (['records', 'access-log', 'consents', 'notifications', 'backup'].includes(section ?? '')) {
        expect(await page.locator('nav [aria-current="page"]').getAttribute('href')).toBe(`/${section}`);
      }
    });

    it('the grant form with errors has no axe violations', async () => {
      await app.open('consents');
      await app.follow(page.getByRole('button', { name: 'Give access' }));
      expect(await app.errorSummary()).not.toEqual([]);
      await page.screenshot({ path: `${SCREENSHOTS}/consents-form-errors.png`, fullPage: true });
      expect(await structureProblems(page)).toEqual([]);
      expect(await axeViolations(page)).toEqual([]);
    });

    it('starts keyboard use with a skip link, and focus is visible', async () => {
      await app.open('records');
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to main content');
      expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
      await page.keyboard.press('Enter');
      expect(new URL(page.url()).hash).toBe('#main');
    });

    it('works without JavaScript', async () => {
      const noScript = await browser.newContext({ javaScriptEnabled: false });
      try {
        const bare = new AgentUiPage(await noScript.newPage(), ui.url);
        const consentId = await bare.grantConsent({
          grantee: { kind: 'organization', id: 'Hospital1MSP' },
          categories: ['allergy'],
          purposes: ['TREAT'],
          end: inDays(1),
        });
        await bare.revokeConsent(consentId);
        expect(agent.consentList.find((c) => c.consentId === consentId)?.status).toBe('revoked');
      } finally {
        await noScript.close();
      }
    });
  });
});
