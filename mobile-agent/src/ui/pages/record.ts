/**
 * One record: its summary, what the hospital wrote about it and the full FHIR resource. For a
 * DocumentReference, the original document it carries (a C-CDA's XML) as text; for a Composition,
 * each section's narrative as text. A hospital's markup is never rendered here: narratives lose
 * their tags, documents keep them as visible characters, and both are escaped like every value.
 */
import type { VaultElement } from '../../vault/vault-types';
import { DOCUMENT_TEXT_LIMIT, readAttachment, sizeText, type AttachmentView } from '../document-text';
import { when } from '../format';
import { html, type Html } from '../html';
import type { PageContent } from '../layout';
import { narrativeOf } from '../narrative';
import { recordJson } from '../record-json';
import { conceptText, resourceTypeText, summariseResource } from '../resource-summary';

export interface RecordPageData {
  row: VaultElement;
  /** The hospital that sent it, in words; absent when unknown. */
  sender?: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : undefined);
const objects = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** Where a record's own page is; the ids are the vault's, so the page can find it again. */
export function recordHref(row: { deliveryId: string; segmentId: string }): string {
  return `/records/${encodeURIComponent(row.deliveryId)}/${encodeURIComponent(row.segmentId)}`;
}

/** Section headings go no deeper than h6; deeper sections are in the full record. */
const DEEPEST_HEADING = 6;

function fact(term: string, value: Html | string | undefined): Html {
  return value === undefined || value === ''
    ? html``
    : html`<dt>${term}</dt>
        <dd>${value}</dd>`;
}

/** Who wrote a document and who keeps it: a Composition's header, by the names it gives. */
function authorship(resource: Json): Html {
  const authors = objects(resource.author)
    .map((a) => str(a.display))
    .filter((a): a is string => a !== undefined);
  const custodian = isObject(resource.custodian) ? str(resource.custodian.display) : undefined;
  return html`${fact('Written by', authors.join('; '))}${fact('Kept by', custodian)}`;
}

function facts(data: RecordPageData, resource: Json): Html {
  const s = summariseResource(data.row.element);
  return html`<dl class="summary-list" data-record-facts>
    ${fact('Type of record', resourceTypeText(data.row.element.resourceType))}
    ${fact('Date', when(data.row.element.time))} ${fact('Code', s.code)} ${fact('Result or status', s.value)}
    ${fact('From', data.sender ?? html`<span class="muted">unknown</span>`)}
    ${data.row.element.resourceType === 'Composition' ? authorship(resource) : ''}
  </dl>`;
}

/** What the page says about a document it does not show as text, or above the text it shows. */
function documentNote(view: AttachmentView): Html {
  switch (view.kind) {
    case 'text':
      return html`<p>
          As the hospital sent it (${view.contentType}, ${sizeText(view.bytes)}), shown as plain text: nothing in it is
          opened, followed or run.
        </p>
        ${
          view.cut
            ? html`<p class="note" data-document-cut>
                This document is ${sizeText(view.bytes)}, so only its first ${sizeText(DOCUMENT_TEXT_LIMIT)} are shown
                here. The FHIR download on the Records page holds all of it.
              </p>`
            : ''
        }`;
    case 'binary':
      return html`<p class="note">
        This document is
        ${view.contentType ? html`of type <code>${view.contentType}</code>` : 'of no stated type'}${
          view.bytes !== undefined ? `, ${sizeText(view.bytes)}` : ''
        }.
        This page shows only text documents; it is kept as it arrived and is in the FHIR download.
      </p>`;
    case 'elsewhere':
      return html`<p class="note">
        The hospital sent only where the document is kept, not the document itself. This page does not follow such
        addresses.
      </p>`;
    case 'empty':
      return html`<p class="note">This record holds no document.</p>`;
    case 'unreadable':
      return html`<p class="note">
        ${
          view.reason === 'base64'
            ? 'The document could not be read: its content is not valid base64, so it may have been damaged on the way.'
            : `The document could not be shown: it is not UTF-8 text.`
        }
        The record is kept as it arrived and is in the FHIR download.
      </p>`;
  }
}

function documentBlock(content: Json, index: number, count: number): Html {
  const attachment = isObject(content.attachment) ? content.attachment : {};
  const view = readAttachment(attachment);
  const id = `document-${index}`;
  const heading = count === 1 ? 'The original document' : `Original document ${index + 1} of ${count}`;
  const title = str(attachment.title);
  return html`<section data-document="${view.kind}">
    <h2 id="${id}">${heading}${title ? html`: ${title}` : ''}</h2>
    ${documentNote(view)}
    ${
      view.kind === 'text'
        ? html`<div class="document-text" role="region" aria-labelledby="${id}" tabindex="0">
            <pre>${view.text}</pre>
          </div>`
        : ''
    }
  </section>`;
}

function documents(resource: Json): Html {
  const contents = objects(resource.content);
  if (contents.length === 0) return documentBlock({}, 0, 1);
  return html`${contents.map((c, i) => documentBlock(c, i, contents.length))}`;
}

function sectionBlock(section: Json, id: string, level: number): Html {
  const title = str(section.title) ?? conceptText(section.code) ?? 'Untitled section';
  const text = narrativeOf(section.text);
  const inner = level < DEEPEST_HEADING ? objects(section.section) : [];
  return html`<section data-section>
    <h${level} id="${id}">${title}</h${level}>
    ${text !== undefined ? html`<p class="narrative">${text}</p>` : html`<p class="muted">No text.</p>`}
    ${inner.map((s, i) => sectionBlock(s, `${id}-${i}`, level + 1))}
  </section>`;
}

function compositionSections(resource: Json): Html {
  const sections = objects(resource.section);
  if (sections.length === 0) return html``;
  return html`<h2>What the document says</h2>
    <p class="hint">Each section's words, without the hospital's layout.</p>
    ${sections.map((s, i) => sectionBlock(s, `section-${i}`, 3))}`;
}

/** The resource's own narrative, when the hospital wrote one: its words only, like a section's. */
function ownNarrative(resource: Json): Html {
  const text = narrativeOf(resource.text);
  return text === undefined
    ? html``
    : html`<h2>What the hospital wrote</h2>
        <p class="narrative" data-narrative>${text}</p>`;
}

export function recordPage(data: RecordPageData): PageContent {
  const resource = data.row.element.resource ?? {};
  const type = data.row.element.resourceType;
  return {
    title: summariseResource(data.row.element).what,
    section: 'records',
    body: html`<p><a href="/records">Back to your records</a></p>
      ${facts(data, resource)} ${ownNarrative(resource)} ${type === 'DocumentReference' ? documents(resource) : ''}
      ${type === 'Composition' ? compositionSections(resource) : ''}
      <h2 id="full-record">Full record</h2>
      <div class="full-record" role="region" aria-labelledby="full-record" tabindex="0">
        <pre class="record-json">${recordJson(resource)}</pre>
      </div>`,
  };
}
