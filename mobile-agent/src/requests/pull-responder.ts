import {
  categoriesOf,
  compactPullAnswer,
  encodePullAnswer,
  evaluateConsent,
  openEnvelope,
  pullAnswerAad,
  pullRequestAad,
  Roles,
  seal,
  type ConsentScope,
  type DisclosedElement,
  type PullRequest,
  type SealedEnvelope,
} from '@phr/common';
import { requesterLabel } from '../access-log/describe';
import type { PullReport } from '../agent-api';
import type { AgentIdentity } from '../connectors';
import { gatewayCertificateProblem } from '../inbox/gateway-certificate';
import type { AgentLedger } from '../ledger/agent-ledger';
import type { Logger } from '../logger';
import type { HospitalProfile } from '../profile/network-profile';
import type { GatewayTransport, MailMessage } from '../transport/gateway-transport';
import type { Vault, VaultElement } from '../vault/vault-types';

export interface PullResponderDeps {
  pseudonym: string;
  identity: AgentIdentity;
  encryptionPrivateKeyPem: string;
  vault: Vault;
  ledger: AgentLedger;
  log: Logger;
  now?: () => Date;
}

/**
 * The patient's side of a pull (SPEC flow 3, seed 003 DSR/DSV): the agent checks the request came
 * from the hospital's gateway, checks the patient's consent itself, and answers with the requested
 * elements only, each with its salt and Merkle path (a version 2 answer: each segment's path once),
 * sealed to the requester and signed by the patient. Siblings of a disclosed element are never
 * revealed: the path carries only hashes.
 */
export class PullResponder {
  constructor(private readonly d: PullResponderDeps) {}

  async handle(hospital: HospitalProfile, transport: GatewayTransport, message: MailMessage): Promise<PullReport> {
    const base = { requestId: message.messageId, hospital: hospital.name };
    let request: PullRequest;
    try {
      request = this.open(hospital, message);
    } catch (err) {
      // Not from this hospital's gateway, or not for us: nothing to answer; drop it from the mailbox.
      this.d.log.warn({ requestId: message.messageId, hospital: hospital.name }, 'pull request refused: not authentic');
      await transport.ack(message.messageId);
      return { ...base, result: 'ignored', elements: 0, breakGlass: false, detail: (err as Error).message };
    }

    const who = requesterLabel(request.requester);

    const permitted = await this.permittedScope(request);
    if (!permitted) {
      await transport.replyPull(request.requestId, {
        decision: 'decline',
        reason: 'no consent of the patient covers it',
      });
      await transport.ack(message.messageId);
      await this.d.vault.addNotification(
        'access',
        `${who} asked for your records; your consents do not allow it, so nothing was sent.`,
        `pull:${request.requestId}`,
      );
      return { ...base, result: 'declined', elements: 0, breakGlass: false };
    }

    const elements = await this.select(request, permitted);
    // Version 2: each delivery's root and each segment's path once, not once per element.
    const answer = compactPullAnswer(
      {
        requestId: request.requestId,
        pseudonym: request.pseudonym,
        answeredAt: (this.d.now?.() ?? new Date()).toISOString(),
      },
      elements,
    );
    const envelope = seal(
      await encodePullAnswer(answer),
      request.answerKey,
      pullAnswerAad({ requestId: request.requestId, pseudonym: request.pseudonym, requesterId: request.requester.id }),
      { certificatePem: this.d.identity.certificatePem, privateKeyPem: this.d.identity.privateKeyPem },
    );
    const released = await transport.replyPull(request.requestId, {
      decision: 'answer',
      envelope,
      deliveryIds: [...new Set(elements.map((e) => e.deliveryId))],
      elementCount: elements.length,
    });
    await transport.ack(message.messageId);
    if (released.status === 'denied') {
      // The ledger refused the read after this agent answered (the consent was revoked meanwhile):
      // the gateway kept the answer from the requester, so nothing was read.
      await this.d.vault.addNotification(
        'access',
        `${who} asked for your records; your consent was withdrawn before the answer was released, so nothing was read.`,
        `pull:${request.requestId}`,
      );
      this.d.log.info({ requestId: request.requestId }, 'pull answer withheld by the gateway: consent withdrawn');
      return { ...base, result: 'declined', elements: 0, breakGlass: false, detail: 'consent withdrawn' };
    }
    await this.d.vault.addNotification(
      'access',
      request.breakGlass
        ? `EMERGENCY ACCESS: ${who} read ${elements.length} of your record elements without your consent (break-glass).`
        : `${who} read ${elements.length} of your record elements under your consent.`,
      `pull:${request.requestId}`,
    );
    this.d.log.info({ requestId: request.requestId, elements: elements.length }, 'pull answered');
    return { ...base, result: 'answered', elements: elements.length, breakGlass: request.breakGlass };
  }

  private open(hospital: HospitalProfile, message: MailMessage): PullRequest {
    const envelope = JSON.parse(message.body) as SealedEnvelope;
    const problem = gatewayCertificateProblem(
      envelope.senderCertificate,
      { mspId: hospital.mspId, caRootCertPem: hospital.caRootCertPem },
      this.d.now?.() ?? new Date(),
    );
    if (problem) throw new Error(problem);
    const aad = pullRequestAad({ requestId: message.messageId, pseudonym: this.d.pseudonym, gateway: hospital.mspId });
    const request = JSON.parse(
      openEnvelope(envelope, this.d.encryptionPrivateKeyPem, aad).toString('utf8'),
    ) as PullRequest;
    if (
      request.requestId !== message.messageId ||
      request.pseudonym !== this.d.pseudonym ||
      request.gateway !== hospital.mspId
    ) {
      throw new Error('the request names another patient, request or gateway');
    }
    return request;
  }

  /**
   * The agent's own consent check, on the consents it reads from the ledger itself. Break-glass is
   * honoured only as the chaincode allows it (an emergency clinician, purpose ETREAT); the ledger
   * then refuses the gateway's audit event for anything else, so no answer is released.
   */
  private async permittedScope(request: PullRequest): Promise<ConsentScope | undefined> {
    if (request.breakGlass) {
      const ok =
        request.requester.role === Roles.Clinician && request.requester.emergency && request.purpose === 'ETREAT';
      return ok ? request.permitted : undefined;
    }
    const consents = await this.d.ledger.listConsents(this.d.pseudonym);
    const evaluation = evaluateConsent(
      consents,
      {
        requesterOrg: request.requester.mspId,
        requesterId: request.requester.id,
        purpose: request.purpose,
        categories: request.permitted.categories,
        codes: request.permitted.codes,
      },
      (this.d.now?.() ?? new Date()).toISOString(),
    );
    return evaluation.decision === 'deny' ? undefined : evaluation.permitted;
  }

  /**
   * The requested elements only: for a code search the coded elements with those codes; for a type
   * search or $everything the whole resources. Each must fall under the permitted scope by its code
   * or by its resource's category.
   */
  private async select(request: PullRequest, permitted: ConsentScope): Promise<DisclosedElement[]> {
    const roots = new Map((await this.d.vault.deliveries()).map((d) => [d.deliveryId, d.merkleRoot]));
    // Only the asked-for types and codes are read (and decrypted) from the vault, through its indexes.
    const types: (string | undefined)[] = request.query.everything ? [undefined] : request.query.resourceTypes;
    const resources = (
      await Promise.all(
        types.map((t) => this.d.vault.search({ kind: 'resource', ...(t === undefined ? {} : { resourceType: t }) })),
      )
    ).flat();
    const categoriesBySegment = new Map(resources.map((r) => [r.segmentId, categoriesOf(r.element.resource ?? {})]));
    const permittedCodes = new Set(permitted.codes.map((c) => `${c.system}|${c.code}`));
    const allowed = (e: VaultElement) =>
      (e.element.system !== undefined && permittedCodes.has(`${e.element.system}|${e.element.code ?? ''}`)) ||
      (categoriesBySegment.get(e.segmentId) ?? []).some((c) => permitted.categories.includes(c));

    const candidates =
      request.query.codes.length === 0
        ? resources
        : (
            await Promise.all(
              types.flatMap((t) =>
                request.query.codes.map((c) =>
                  this.d.vault.search({
                    kind: 'coded',
                    system: c.system,
                    code: c.code,
                    ...(t === undefined ? {} : { resourceType: t }),
                  }),
                ),
              ),
            )
          ).flat();
    return candidates
      .filter(allowed)
      .filter((e) => roots.has(e.deliveryId))
      .map((e) => ({
        deliveryId: e.deliveryId,
        merkleRoot: roots.get(e.deliveryId) as string,
        element: e.element,
        salt: e.salt,
        proof: e.proof,
      }));
  }
}
