import type { Request, Response } from 'express';
import type { Capability } from '../fhir/capability-statement';
import type { Access } from './access';

/** Query parameters, and for a POST search the form fields too; a repeated parameter is an array. */
export type SearchParams = Record<string, unknown>;

/** The HTTP end of one interaction: turns the request into a call of its service and answers. */
export type RouteHandler = (req: Request, res: Response, params: SearchParams) => Promise<void> | void;

/**
 * One interaction of the gateway's FHIR surface, declared once in the route table: where it is,
 * who may use it, what handles it and what it is in FHIR's terms. The Express route and the
 * CapabilityStatement's entry are both made from this.
 */
export interface FhirRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /**
   * An Express path. `:type` takes any resource type but those the table has another declaration
   * of the same interaction for, and never FHIR's reserved `metadata`, `$…` and `_…` segments; its
   * route must answer for EVERY_OTHER_TYPE.
   */
  path: string;
  access: Access;
  /** What the CapabilityStatement lists for this route. */
  answers: readonly Capability[];
  /** A search: FHIR's second form, `POST {path}/_search` with a form body of at most `maxBytes`, too. */
  searchForm?: { maxBytes: number };
  handler: RouteHandler;
}
