/**
 * C-CDA end to end (issue 14): each of HL7's 15 complete C-CDA R2.1 examples is posted to the
 * gateway's /ccda as an EHR would, converted, committed and sealed; the patient's agent stores it
 * and verifies every element against the ledger, and keeps the original document. A document the
 * gateway cannot deliver is refused with its reason; the test prints which and why.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertCcda } from '@phr/gateway';
import { readReceipt } from '@phr/gateway';
import { FIXTURES } from '@phr/test-support';
import type { Agent } from '../src/agent';
import { readAttachment } from '../src/ui/document-text';
import { AgentHarness } from './support/agent-harness';

jest.setTimeout(300_000);

const DIR = join(FIXTURES, 'ccda-examples');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.xml'))
  .sort();

interface Outcome {
  file: string;
  status: number;
  entries: number;
  warnings: number;
  stored?: number;
  elements?: number;
  reason?: string;
}

/**
 * The patient's identifier as the gateway reads it from recordTarget/patientRole/id (the converter
 * names well-known OIDs by their FHIR systems: an SSN is http://hl7.org/fhir/sid/us-ssn).
 */
function mrnOf(bytes: Buffer): { system: string; value: string } {
  const id = convertCcda(bytes.toString('utf8'), bytes).patientIdentifier;
  if (!id) throw new Error('no patient identifier');
  return id;
}

let h: AgentHarness;
const agents = new Map<string, Agent>();
const outcomes: Outcome[] = [];

beforeAll(async () => {
  h = await AgentHarness.create();
});

afterAll(async () => {
  process.stdout.write(
    `\nC-CDA examples through /ccda to the patient's agent:\n` +
      outcomes
        .map(
          (o) =>
            `  ${o.file.padEnd(38)} ${String(o.status).padEnd(4)} ` +
            (o.reason
              ? `refused: ${o.reason}`
              : `${o.entries} resources, ${o.warnings} warnings; agent stored ${o.stored} resources, verified ${o.elements} elements`),
        )
        .join('\n') +
      '\n',
  );
  for (const a of agents.values()) await a.close();
  await h.close();
});

async function agentFor(mrn: { system: string; value: string }): Promise<Agent> {
  const key = `${mrn.system}|${mrn.value}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = (await h.newAgent()).agent;
    await h.link(agent, mrn);
    agents.set(key, agent);
  }
  return agent;
}

function post(bytes: Buffer, contentType = 'application/cda+xml') {
  return h.gw.request(h.gw.clients.ehr, 'POST', '/ccda', bytes, { 'content-type': contentType });
}

describe('C-CDA documents posted to /ccda reach the patient verified, the original included', () => {
  it.each(FILES)('%s', async (file) => {
    const bytes = readFileSync(join(DIR, file));
    const agent = await agentFor(mrnOf(bytes));
    const res = await post(bytes);
    const body = res.json as {
      type?: string;
      entry?: { response: { status: string; outcome?: { issue: { severity: string; diagnostics: string }[] } } }[];
      issue?: { diagnostics?: string }[];
    };
    if (res.status !== 200) {
      outcomes.push({ file, status: res.status, entries: 0, warnings: 0, reason: body.issue?.[0]?.diagnostics ?? '' });
      // Only a document without a patient or without clinical content may be refused.
      expect(res.status).toBe(422);
      expect(body.issue?.[0]?.diagnostics).toMatch(/no patient|no clinical content/);
      return;
    }
    expect(body.type).toBe('transaction-response');
    const warnings = (body.entry ?? []).flatMap((e) => e.response.outcome?.issue ?? []);
    expect(warnings.every((w) => w.severity === 'warning')).toBe(true);
    const receipt = readReceipt(res.json);
    expect(receipt?.merkleRoot).toMatch(/^[0-9a-f]{64}$/);
    await h.gw.gateway.outbox.idle();

    const report = await agent.sync();
    const mine = report.deliveries.filter((d) => d.deliveryId === receipt!.deliveryId);
    expect(mine.map((d) => d.result)).toEqual(['stored']);
    const verified = await agent.verify();
    expect(verified.mismatches).toEqual([]);

    // The original document, byte for byte, and the Provenance that points at it.
    const documents = await agent['vault'].search({ kind: 'resource', resourceType: 'DocumentReference' });
    const original = documents
      .map((d) => d.element.resource as { content?: { attachment?: { data?: string } }[] })
      .find((r) => r.content?.[0]?.attachment?.data === bytes.toString('base64'));
    expect(original).toBeDefined();
    const provenances = await agent['vault'].search({ kind: 'resource', resourceType: 'Provenance' });
    expect(provenances.length).toBeGreaterThan(0);

    const stored = (body.entry ?? []).length;
    outcomes.push({
      file,
      status: res.status,
      entries: stored,
      warnings: warnings.length,
      stored,
      elements: verified.elementsChecked,
    });
  });

  it("a decimal keeps its text from the C-CDA to the patient's export (12.0 and 3.90 in CCD-1)", async () => {
    const agent = await agentFor(mrnOf(readFileSync(join(DIR, 'CCD-1.xml'))));
    const exported = JSON.stringify(await agent.exportBundle({ resourceType: 'Observation' }));
    expect(exported).toMatch(/"value":12\.0[,}]/);
    expect(exported).toMatch(/"value":3\.90[,}]/);
    expect(exported).not.toMatch(/"value":3\.9[,}]/);
  });

  it("a document in UTF-16 or ISO-8859-1 reaches the patient's page as the text it is", async () => {
    const utf8 = readFileSync(join(DIR, 'CCD-2.xml'), 'utf8').replace('<given>', '<given>Zoë ');
    const body = utf8.slice(utf8.indexOf('?>') + 2);
    // what Latin-1 cannot hold is written as a character reference, as such a sender would
    const latin = [...`<?xml version="1.0" encoding="ISO-8859-1"?>${body}`]
      .map((c) => (c.codePointAt(0)! > 0xff ? `&#x${c.codePointAt(0)!.toString(16)};` : c))
      .join('');
    const documents = [
      { bytes: Buffer.from(latin, 'latin1'), charset: 'windows-1252' },
      {
        bytes: Buffer.concat([
          Buffer.from([0xff, 0xfe]),
          Buffer.from(`<?xml version="1.0" encoding="UTF-16"?>${body}`, 'utf16le'),
        ]),
        charset: 'utf-16',
      },
    ];
    const agent = await agentFor(mrnOf(readFileSync(join(DIR, 'CCD-2.xml'))));
    for (const { bytes, charset } of documents) {
      const res = await post(bytes);
      expect(res.status).toBe(200);
      await h.gw.gateway.outbox.idle();
      await agent.sync();
      const stored = (await agent['vault'].search({ kind: 'resource', resourceType: 'DocumentReference' }))
        .map((d) => d.element.resource as { content: { attachment: { data?: string; contentType?: string } }[] })
        .find((r) => r.content[0]!.attachment.data === bytes.toString('base64'));
      expect(stored?.content[0]!.attachment.contentType).toBe(`text/xml; charset=${charset}`);
      const view = readAttachment(stored!.content[0]!.attachment);
      expect(view).toMatchObject({ kind: 'text', contentType: 'text/xml' });
      expect((view as { text: string }).text).toContain('<given>Zoë ');
    }
  });

  it('a document posted again is the same delivery: answered from the first, nothing new for the patient', async () => {
    const bytes = readFileSync(join(DIR, 'CCD-2.xml'));
    const agent = await agentFor(mrnOf(bytes));
    const first = await post(bytes);
    expect(first.status).toBe(200);
    await agent.sync();
    const again = await post(bytes, 'text/xml');
    expect(again.status).toBe(200);
    expect(readReceipt(again.json)?.deliveryId).toBe(readReceipt(first.json)?.deliveryId);
    const report = await agent.sync();
    expect(report.deliveries.filter((d) => d.result === 'stored')).toEqual([]);
  });
});
