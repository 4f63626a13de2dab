/**
 * A searchset Bundle of every match (no paging: a patient's consents and access events are few
 * enough), with its self link. `fullUrl`s follow the usual `{base}/{type}/{id}` form.
 */
export function searchsetBundle<T extends fhir4.FhirResource>(
  resources: readonly T[],
  links: { selfUrl: string; fhirBaseUrl: string },
): fhir4.Bundle<T> {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    link: [{ relation: 'self', url: links.selfUrl }],
    ...(resources.length > 0
      ? {
          entry: resources.map((resource) => ({
            fullUrl: `${links.fhirBaseUrl}/${resource.resourceType}/${resource.id ?? ''}`,
            resource,
            search: { mode: 'match' as const },
          })),
        }
      : {}),
  };
}
