import type { OperationOutcomeResource } from '@phr/common';
import type { Principal } from '../../auth/principal';

/** A FHIR request as the handlers see it: no Express, no HTTP, just who asks and what. */
export interface FhirRequest {
  principal: Principal;
  /** Query (and form) parameters; a repeated parameter is an array. */
  params: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** Parsed FHIR JSON body, if any. */
  body?: unknown;
  /** The absolute URL that was asked, for `Bundle.link[self]`. */
  selfUrl: string;
}

/**
 * A handler answers with an optional OperationOutcome (warnings, information) and the resource.
 * Errors are thrown as `FhirError`s; the HTTP edge renders them as OperationOutcomes.
 */
export type FhirResult<T extends fhir4.FhirResource = fhir4.FhirResource> = [
  outcome: OperationOutcomeResource | undefined,
  resource: T,
];

export type FhirHandler<D, T extends fhir4.FhirResource = fhir4.FhirResource> = (
  request: FhirRequest,
  deps: D,
) => Promise<FhirResult<T>>;
