/**
 * Page objects for the agent's web page, shared by the UI's own browser tests (against the
 * in-memory agent) and the end-to-end suite (against the real agent and ledger). They drive the
 * page as a patient would — links, labelled fields, buttons by their words — and read back what
 * it shows, so a test states intent (grant, revoke, search) rather than selectors.
 */
import { readFile } from 'node:fs/promises';
import type { Locator, Page } from 'playwright-core';

export type UiSection = 'records' | 'access-log' | 'consents' | 'notifications' | 'research' | 'backup';

export interface ShownRecord {
  /** "<deliveryId>/<segmentId>" */
  ref: string;
  resourceType: string;
  date: string;
  what: string;
  code: string;
  value: string;
  from: string;
}

export interface ShownTrend {
  /** The trend's id: "hba1c", "blood-pressure", or "code:<code>" for a searched code. */
  id: string;
  title: string;
  /** "LOINC 4548-4" */
  codes: string;
  /** The chart, when there is one: its <title>, its <desc> and how many markers it draws. */
  chart?: { title: string; description: string; points: number };
  /** What the chart leaves out, and why. */
  notes: string[];
  /** The table: its column headings after "Date", and each row's date and cells. */
  columns: string[];
  rows: { date: string; values: string[] }[];
}

export interface ShownAccess {
  eventId: string;
  summary: string;
  when: string;
  who: string;
  action: string;
  purpose: string;
  outcome: string;
  breakGlass: boolean;
}

export interface ShownConsent {
  consentId: string;
  /** active | not-started | expired | revoked */
  state: string;
  who: string;
  records: string;
  purposes: string;
  period: string;
  status: string;
}

export interface ShownNotification {
  id: number;
  text: string;
  read: boolean;
}

export interface Notice {
  kind: 'success' | 'error';
  title: string;
  lines: string[];
  /** Codes shown once to be written down (recovery code, paper codes), in page order; absent when none. */
  codes?: string[];
}

export interface RecoverySetupInput {
  /** Guardians' pseudonyms. */
  guardians: string[];
  paper: number;
  threshold: number;
  /** The hospital whose gateway mails the shares; the first in the list when absent. */
  hospital?: string;
}

export interface ShownRecoveryRequest {
  requestId: string;
  /** pending | expired | approved | denied */
  state: string;
  patient: string;
  checkCode: string;
}

export interface GrantInput {
  grantee: { kind: 'organization' | 'identity'; id: string };
  /** Category codes, e.g. "laboratory". */
  categories?: string[];
  /** "system|code" each. */
  codes?: string[];
  /** Purpose codes, e.g. "TREAT". */
  purposes: string[];
  /** yyyy-mm-dd; empty or absent = now. */
  start?: string;
  /** yyyy-mm-dd, the last day included. */
  end: string;
}

export class AgentUiPage {
  readonly base: string;

  constructor(
    readonly page: Page,
    baseUrl: string,
  ) {
    this.base = baseUrl.replace(/\/$/, '');
  }

  async open(section: UiSection, query: Record<string, string> = {}): Promise<void> {
    const search = new URLSearchParams(query).toString();
    await this.page.goto(`${this.base}/${section}${search ? `?${search}` : ''}`);
  }

  /** Clicks something that submits or navigates and waits for the next document. */
  async follow(target: Locator): Promise<void> {
    await Promise.all([
      this.page.waitForEvent('framenavigated', (frame) => frame === this.page.mainFrame()),
      target.click(),
    ]);
    await this.page.waitForLoadState('domcontentloaded');
  }

  async heading(): Promise<string> {
    return (await this.page.locator('h1').innerText()).trim();
  }

  /** The notice shown after a redirect (success or error), if any. */
  async notice(): Promise<Notice | undefined> {
    const box = this.page.locator('[data-notice]');
    if ((await box.count()) === 0) return undefined;
    const codes = (await box.locator('[data-code]').allInnerTexts()).map((c) => c.trim());
    return {
      kind: (await box.getAttribute('data-notice')) as Notice['kind'],
      title: (await box.locator(':scope > h2').innerText()).trim(),
      lines: (await box.locator(':scope > ul > li').allInnerTexts()).map((l) => l.trim()),
      ...(codes.length > 0 ? { codes } : {}),
    };
  }

  /** The messages of the form's error summary; empty when there is none. */
  async errorSummary(): Promise<string[]> {
    return (await this.page.locator('[data-error-summary] li').allInnerTexts()).map((t) => t.trim());
  }

  /** Every problem box's text (agent failures, refusals). */
  async problems(): Promise<string[]> {
    return (await this.page.locator('.notice.error[role="alert"]').allInnerTexts()).map((t) => t.trim());
  }

  async unreadCount(): Promise<number> {
    const badge = this.page.locator('nav [data-unread]');
    return (await badge.count()) === 0 ? 0 : Number(await badge.getAttribute('data-unread'));
  }

  // --- Records

  async recordsShown(): Promise<ShownRecord[]> {
    const shown: ShownRecord[] = [];
    for (const table of await this.page.locator('table[data-resource-type]').all()) {
      const resourceType = (await table.getAttribute('data-resource-type')) ?? '';
      for (const row of await table.locator('tbody > tr').all()) {
        const [date = '', what = '', code = '', value = '', from = ''] = (
          await row.locator(':scope > td, :scope > th').allInnerTexts()
        ).map((t) => t.trim());
        shown.push({ ref: (await row.getAttribute('data-record')) ?? '', resourceType, date, what, code, value, from });
      }
    }
    return shown;
  }

  /** The trends above the Records tables, in page order. */
  async trendsShown(): Promise<ShownTrend[]> {
    const shown: ShownTrend[] = [];
    for (const trend of await this.page.locator('section[data-trend]').all()) {
      const svg = trend.locator('svg[role="img"]');
      const chart =
        (await svg.count()) === 0
          ? undefined
          : {
              title: ((await svg.locator(':scope > title').textContent()) ?? '').trim(),
              description: ((await svg.locator(':scope > desc').textContent()) ?? '').trim(),
              points: await svg.locator('.series .point').count(),
            };
      const table = trend.locator('table[data-trend-values]');
      const rows: ShownTrend['rows'] = [];
      for (const row of await table.locator('tbody > tr').all()) {
        const [date = '', ...values] = (await row.locator(':scope > th, :scope > td').allInnerTexts()).map((t) =>
          t.trim(),
        );
        rows.push({ date, values });
      }
      shown.push({
        id: (await trend.getAttribute('data-trend')) ?? '',
        title: (await trend.locator('h3').innerText()).trim(),
        codes: (await trend.locator(':scope > p.muted').innerText()).trim(),
        ...(chart ? { chart } : {}),
        notes: (await trend.locator('[data-trend-note]').allInnerTexts()).map((t) => t.trim()),
        columns: (await table.locator('thead th').allInnerTexts()).map((t) => t.trim()).slice(1),
        rows,
      });
    }
    return shown;
  }

  async searchRecords(criteria: { type?: string; code?: string; from?: string; to?: string }): Promise<ShownRecord[]> {
    if (!this.page.url().startsWith(`${this.base}/records`)) await this.open('records');
    await this.page.getByLabel('Type of record').selectOption(criteria.type ?? '');
    await this.page.getByLabel('Code', { exact: true }).fill(criteria.code ?? '');
    await this.page.getByLabel('From', { exact: true }).fill(criteria.from ?? '');
    await this.page.getByLabel('To (included)').fill(criteria.to ?? '');
    await this.follow(this.page.getByRole('button', { name: 'Search' }));
    return this.recordsShown();
  }

  /** Opens a record's own page from its row on the Records page ("<deliveryId>/<segmentId>"). */
  async openRecord(ref: string): Promise<void> {
    await this.follow(this.page.locator(`tr[data-record="${ref}"] th a`));
  }

  /** The original documents a record's page shows as text, character for character. */
  async documentTexts(): Promise<string[]> {
    return this.page.locator('.document-text pre').allTextContents();
  }

  /** A Composition's sections on its page: each title and its words. */
  async sectionsShown(): Promise<{ title: string; text: string }[]> {
    const shown: { title: string; text: string }[] = [];
    for (const section of await this.page.locator('section[data-section]').all()) {
      const title = (await section.locator(':scope > h3, :scope > h4, :scope > h5, :scope > h6').innerText()).trim();
      shown.push({ title, text: (await section.locator(':scope > p').innerText()).trim() });
    }
    return shown;
  }

  /** Downloads the FHIR export the Records page offers for its current search. */
  async exportBundle(): Promise<{ filename: string; bundle: Record<string, unknown> }> {
    const link = this.page.getByRole('link', { name: /^Download .*\(FHIR file\)$/ });
    const [download] = await Promise.all([this.page.waitForEvent('download'), link.click()]);
    const path = await download.path();
    return { filename: download.suggestedFilename(), bundle: JSON.parse(await readFile(path, 'utf8')) };
  }

  // --- Access log

  async accessLogShown(): Promise<ShownAccess[]> {
    if (!this.page.url().startsWith(`${this.base}/access-log`)) await this.open('access-log');
    const shown: ShownAccess[] = [];
    for (const row of await this.page.locator('tr[data-event-id]').all()) {
      const [summary = '', when = '', who = '', action = '', purpose = '', outcome = ''] = (
        await row.locator(':scope > td, :scope > th').allInnerTexts()
      ).map((t) => t.trim());
      shown.push({
        eventId: (await row.getAttribute('data-event-id')) ?? '',
        summary,
        when,
        who,
        action,
        purpose,
        outcome,
        breakGlass: (await row.getAttribute('data-break-glass')) !== null,
      });
    }
    return shown;
  }

  // --- Consents

  async consentsShown(): Promise<ShownConsent[]> {
    if (!this.page.url().startsWith(`${this.base}/consents`) || this.page.url().includes('/revoke')) {
      await this.open('consents');
    }
    const shown: ShownConsent[] = [];
    for (const row of await this.page.locator('tr[data-consent-id]').all()) {
      const [who = '', records = '', purposes = '', period = '', status = ''] = (
        await row.locator(':scope > td, :scope > th').allInnerTexts()
      ).map((t) => t.trim());
      shown.push({
        consentId: (await row.getAttribute('data-consent-id')) ?? '',
        state: (await row.getAttribute('data-status')) ?? '',
        who,
        records,
        purposes,
        period,
        status,
      });
    }
    return shown;
  }

  /** Fills the grant form and submits it; does not judge the outcome (see grantConsent). */
  async submitGrantForm(input: GrantInput): Promise<void> {
    await this.open('consents');
    const form = this.page.locator('form[action="/consents"]');
    await form.locator(`input[name="granteeKind"][value="${input.grantee.kind}"]`).check();
    await form.getByLabel('Their ID', { exact: true }).fill(input.grantee.id);
    for (const category of input.categories ?? []) await form.locator(`#category-${category}`).check();
    await form.getByLabel('Exact codes (optional)').fill((input.codes ?? []).join('\n'));
    for (const purpose of input.purposes) await form.locator(`#purpose-${purpose}`).check();
    await form.getByLabel('Starts on (optional)').fill(input.start ?? '');
    await form.getByLabel('Last day').fill(input.end);
    await this.follow(form.getByRole('button', { name: 'Give access' }));
  }

  /** Grants through the page; returns the new consent's id, or throws with what the page said. */
  async grantConsent(input: GrantInput): Promise<string> {
    await this.submitGrantForm(input);
    const hash = new URL(this.page.url()).hash;
    if (!hash.startsWith('#consent-')) {
      const said = [...(await this.errorSummary()), ...(await this.problems())];
      throw new Error(`the page did not grant the consent: ${said.join(' / ') || (await this.heading())}`);
    }
    return decodeURIComponent(hash.slice('#consent-'.length));
  }

  /** Revokes through the page, confirmation step included; returns the notice it shows. */
  async revokeConsent(consentId: string): Promise<Notice> {
    await this.open('consents');
    const row = this.page.locator(`tr[data-consent-id="${consentId}"]`);
    await this.follow(row.getByRole('link', { name: /^Revoke/ }));
    await this.follow(this.page.getByRole('button', { name: 'Yes, revoke this consent' }));
    const notice = await this.notice();
    if (!notice || notice.kind !== 'success') {
      throw new Error(
        `the page did not revoke the consent: ${(await this.problems()).join(' / ') || (await this.heading())}`,
      );
    }
    return notice;
  }

  // --- Notifications and sync

  async notificationsShown(): Promise<ShownNotification[]> {
    if (!this.page.url().startsWith(`${this.base}/notifications`)) await this.open('notifications');
    const shown: ShownNotification[] = [];
    for (const item of await this.page.locator('li[data-notification-id]').all()) {
      shown.push({
        id: Number(await item.getAttribute('data-notification-id')),
        text: (await item.innerText()).trim(),
        read: (await item.getAttribute('data-read')) === 'true',
      });
    }
    return shown;
  }

  async markAllNotificationsRead(): Promise<void> {
    await this.open('notifications');
    await this.follow(this.page.getByRole('button', { name: 'Mark all as read' }));
  }

  /** Presses "Check for new records" and returns the report the page shows. */
  async checkForNewRecords(): Promise<Notice> {
    if (!this.page.url().startsWith(this.base)) await this.open('records');
    await this.follow(this.page.getByRole('button', { name: 'Check for new records' }));
    const notice = await this.notice();
    if (!notice) throw new Error('no report after "Check for new records"');
    return notice;
  }

  // --- Backup & recovery

  /** Backs up to a hospital from the Backup & recovery page; returns the notice (the recovery code on the first one). */
  async backupToHospital(hospital: string): Promise<Notice> {
    await this.open('backup');
    await this.page.getByLabel('Hospital', { exact: true }).selectOption(hospital);
    await this.follow(this.page.getByRole('button', { name: 'Back up now' }));
    return this.requireNotice('back up');
  }

  /** Fills the folder backup form and submits it; does not judge the outcome (see backupToFolder). */
  async submitFolderBackup(dir: string): Promise<void> {
    await this.open('backup');
    const form = this.page.locator('form[action="/backup/folder"]');
    await form.getByLabel('Folder', { exact: true }).fill(dir);
    await this.follow(form.getByRole('button', { name: 'Back up to this folder' }));
  }

  /** Backs up to a folder from the page; returns the notice (the recovery code on the first one), or throws with what the page said. */
  async backupToFolder(dir: string): Promise<Notice> {
    await this.submitFolderBackup(dir);
    return this.requireNotice('back up to a folder');
  }

  /** Fills the recovery setup form and submits it; does not judge the outcome (see setUpRecovery). */
  async submitRecoverySetup(input: RecoverySetupInput): Promise<void> {
    await this.open('backup');
    const form = this.page.locator('form[action="/backup/recovery"]');
    await form.getByLabel('Guardians’ pseudonyms').fill(input.guardians.join('\n'));
    await form.getByLabel('Paper codes to print').fill(String(input.paper));
    await form.getByLabel('Shares needed to recover').fill(String(input.threshold));
    if (input.hospital !== undefined) {
      await form.getByLabel('Send the guardians’ shares through').selectOption(input.hospital);
    }
    await this.follow(form.getByRole('button', { name: /^Set up recovery/ }));
  }

  /** Sets recovery up from the page; returns the notice with the paper codes (and the recovery code if it was made). */
  async setUpRecovery(input: RecoverySetupInput): Promise<Notice> {
    await this.submitRecoverySetup(input);
    return this.requireNotice('recovery setup');
  }

  /** The recovery requests that reached this agent as a guardian, as the Backup & recovery page lists them. */
  async recoveryRequestsShown(): Promise<ShownRecoveryRequest[]> {
    if (!this.page.url().startsWith(`${this.base}/backup`)) await this.open('backup');
    const shown: ShownRecoveryRequest[] = [];
    for (const row of await this.page.locator('tr[data-recovery-request]').all()) {
      shown.push({
        requestId: (await row.getAttribute('data-recovery-request')) ?? '',
        state: (await row.getAttribute('data-state')) ?? '',
        patient: (await row.locator('th').innerText()).trim(),
        checkCode: (await row.locator('.check-code').innerText()).trim(),
      });
    }
    return shown;
  }

  /**
   * A guardian approves through the confirmation page, after checking `checkCode` (the code the
   * patient told them) against the one it shows; returns the notice.
   */
  async approveRecoveryRequest(requestId: string, checkCode: string): Promise<Notice> {
    await this.open('backup');
    await this.follow(
      this.page.locator(`tr[data-recovery-request="${requestId}"]`).getByRole('link', { name: /^Approve/ }),
    );
    const shown = (await this.page.locator('[data-check-code]').innerText()).trim();
    if (shown !== checkCode) throw new Error(`the page shows check code ${shown}, not ${checkCode}: not approved`);
    await this.follow(this.page.getByRole('button', { name: 'Yes, the code matches: send my share' }));
    return this.requireNotice('approve');
  }

  /** A guardian denies a request from its row; returns the notice. */
  async denyRecoveryRequest(requestId: string): Promise<Notice> {
    await this.open('backup');
    await this.follow(
      this.page.locator(`tr[data-recovery-request="${requestId}"]`).getByRole('button', { name: /^Deny/ }),
    );
    return this.requireNotice('deny');
  }

  /** Presses "Rebuild my records"; returns the notice with a line per delivery. */
  async rebuildRecords(): Promise<Notice> {
    await this.open('backup');
    await this.follow(this.page.getByRole('button', { name: 'Rebuild my records' }));
    return this.requireNotice('rebuild');
  }

  /** Erases through the confirmation page, typing `confirmation` (ERASE to go on); returns what the page lists. */
  async eraseRecords(confirmation = 'ERASE'): Promise<string[]> {
    await this.open('backup');
    await this.follow(this.page.getByRole('link', { name: 'Erase my records…' }));
    await this.page.getByLabel(/Type ERASE to confirm/).fill(confirmation);
    await this.follow(this.page.getByRole('button', { name: 'Erase everything' }));
    return (await this.page.locator('[data-erasure] li').allInnerTexts()).map((t) => t.trim());
  }

  private async requireNotice(what: string): Promise<Notice> {
    const notice = await this.notice();
    if (!notice)
      throw new Error(`no notice after ${what}: ${(await this.problems()).join(' / ') || (await this.heading())}`);
    return notice;
  }
}
