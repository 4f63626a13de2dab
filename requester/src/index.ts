export { PULL_ANSWER_CONTENT_TYPE, PULL_RECEIPT_EXTENSION_URL, PULL_STATUS_PATH } from '@phr/common';
export { readAnswerBundle, type PullReceipt } from './answer-bundle';
export {
  PullRequestError,
  PullVerificationError,
  type ElementProblem,
  type PullRequestErrorCode,
  type PullVerificationCode,
} from './errors';
export { CountingLedger, FabricRequesterLedger, MemoryRequesterLedger, type RequesterLedger } from './ledger';
export {
  PullClient,
  type EverythingOptions,
  type PendingPull,
  type PullClientOptions,
  type SearchOptions,
  type VerifiedPull,
} from './pull-client';
export { verifyAnswer, verifyDisclosed, type AnswerContext, type VerifiedAnswer } from './verify-answer';
