/**
 * The @medplum/ccda release the gateway converts with, named in Provenance and in warnings so that
 * a patient or integrator can tell which converter made a resource. Its test fails when the
 * installed package is another version.
 */
export const MEDPLUM_CCDA_VERSION = '5.1.10';
