/**
 * Fabric CA's numeric error codes (`fabric-ca/lib/caerrors/servererror.go`), the ones this CA
 * answers with. Clients see them in the response envelope's `errors[].code`.
 */
export const CaErrorCode = {
  UNKNOWN: 0,
  METHOD_NOT_ALLOWED: 1,
  NO_AUTH_HEADER: 2,
  READING_BODY: 3,
  EMPTY_BODY: 4,
  BAD_BODY: 5,
  NOT_REVOKER: 7,
  REVOKE_CERT_NOT_FOUND: 8,
  CERT_WRONG_OWNER: 9,
  REVOKE_ID_NOT_FOUND: 10,
  MISSING_REVOKE_ARGS: 15,
  CA_NOT_FOUND: 19,
  AUTHENTICATION_FAILURE: 20,
  NO_USER_PASS: 21,
  INVALID_USER: 23,
  INVALID_PASS: 24,
  INVALID_TOKEN: 25,
  UNTRUSTED_CERTIFICATE: 26,
  CERT_EXPIRED: 27,
  CERT_REVOKED: 28,
  CERT_NOT_FOUND: 30,
  BAD_CSR: 31,
  CALLER_NOT_AUTHENTICATED: 33,
  NO_GENCRL_AUTH: 35,
  INVALID_REVOKED_AFTER: 36,
  INVALID_EXPIRED_AFTER: 37,
  GEN_CRL: 41,
  REGISTRAR_ATTRIBUTE: 42,
  CALLER_NOT_AFFILIATED: 44,
  NO_CRL_SIGN_AUTH: 46,
  GETTING_USER: 49,
  CERT_ALREADY_REVOKED: 66,
  REVOKED_ID: 70,
  AUTHORIZATION_FAILURE: 71,
  DUPLICATE_IDENTITY: 74,
  REGISTRAR_NOT_AUTHORIZED: 76,
  CN_NOT_ENROLLMENT_ID: 77,
  INVOKER_MISSING_ATTRIBUTE: 78,
  INVALID_CSR_INPUT: 80,
  ATTRIBUTE_EXTENSION: 81,
  INVALID_MAX_ENROLLMENTS: 82,
} as const;

/**
 * A refusal or failure the CA reports to its client: the HTTP status, and the code and message of
 * the envelope's `errors` entry. As in Fabric CA, authentication and authorization failures carry a
 * specific local code and message for the CA's own log and a generic one for the client
 * (`remoteCode`/`remoteMessage`), so a caller cannot tell a wrong secret from an unknown id.
 */
export class FabricCaError extends Error {
  override readonly name = 'FabricCaError';
  /** The specific Fabric CA code, logged by the CA. */
  readonly code: number;
  /** The code the client sees. */
  readonly remoteCode: number;
  /** The message the client sees. */
  readonly remoteMessage: string;

  constructor(
    readonly status: number,
    code: number,
    message: string,
    options: { remoteCode?: number; remoteMessage?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.remoteCode = options.remoteCode ?? code;
    this.remoteMessage = options.remoteMessage ?? message;
  }

  /** 401 with the generic "Authentication failure" (code 20) for the client. */
  static authentication(code: number, message: string, cause?: unknown): FabricCaError {
    return new FabricCaError(401, code, message, {
      remoteCode: CaErrorCode.AUTHENTICATION_FAILURE,
      remoteMessage: 'Authentication failure',
      cause,
    });
  }

  /** 403 with the generic "Authorization failure" (code 71) for the client. */
  static authorization(code: number, message: string, cause?: unknown): FabricCaError {
    return new FabricCaError(403, code, message, {
      remoteCode: CaErrorCode.AUTHORIZATION_FAILURE,
      remoteMessage: 'Authorization failure',
      cause,
    });
  }

  static badRequest(code: number, message: string, cause?: unknown): FabricCaError {
    return new FabricCaError(400, code, message, { cause });
  }
}

/** Why the CA cannot start: its home, key material or database is unusable. */
export class CaSetupError extends Error {
  override readonly name = 'CaSetupError';

  constructor(
    readonly code: 'CA_HOME' | 'CA_KEY_MISSING' | 'CA_CERT_INVALID' | 'CA_CONFIG',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
