/**
 * Errors users can act on. The SDK reports failures as bare codes (NoSuchBucket, InvalidAccessKeyId,
 * ECONNREFUSED…) without saying which storage or file was concerned; S3StorageError names the storage alias,
 * the operation and the name, and says what the code means in plain words.
 */

import { StorageOperationError } from '../operationError.ts';

export interface S3ErrorContext {
  bucket: string;
  /** The endpoint as the user would recognise it (their endpoint option, or the AWS host). */
  endpoint: string;
  accessKeyId: string | undefined;
  region: string;
}

export interface S3FailureExplanation {
  /** What went wrong, in plain words. */
  reason: string;
  /** The S3 error code or the Node system error code ('ENOENT' for a missing file). */
  code: string;
  /** true when the object or folder does not exist (and nothing else is wrong). */
  notFound: boolean;
}

interface S3StorageErrorDetails {
  storage: string;
  alias: string | null;
  operation: string;
  fileName: string;
  explanation: S3FailureExplanation;
  cause: unknown;
}

/** A StorageOperationError (the class every remote backend throws) worded with S3's code. */
export class S3StorageError extends StorageOperationError {
  override name = 'S3StorageError';
  /** 'ENOENT' for a missing file (as the filesystem reports it), else the S3 or system code. */
  declare readonly code: string;
  declare readonly fileName: string;
  private readonly details: S3StorageErrorDetails;

  constructor(details: S3StorageErrorDetails) {
    const { explanation } = details;
    super({
      backend: 'S3Storage',
      alias: details.alias,
      operation: details.operation,
      fileName: details.fileName,
      reason: explanation.reason,
      code: explanation.notFound ? 'ENOENT' : explanation.code,
      cause: details.cause,
    });
    this.message = `${details.storage}: ${details.operation} of '${details.fileName}' failed: ${explanation.reason} (${explanation.code})`;
    this.details = details;
  }

  /** The same failure as part of another operation, still worded the S3 way. */
  override during(operation: string): S3StorageError {
    return operation === this.operation ? this : new S3StorageError({ ...this.details, operation });
  }
}

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  errors?: unknown[];
  $metadata?: { httpStatusCode?: number };
}

function shapeOf(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : { message: String(error) };
}

export function httpStatusOf(error: unknown): number | undefined {
  return shapeOf(error).$metadata?.httpStatusCode;
}

/**
 * Whether the server's answer carried no error document, as for every HEAD request: the SDK then only knows
 * the status (its names NotFound, Forbidden, Unknown are guesses from it).
 */
export function isBodilessHttpError(error: unknown): boolean {
  const shape = shapeOf(error);
  return shape.Code === undefined && httpStatusOf(error) !== undefined;
}

/** The system error code of a network failure (also inside the AggregateError of a dual-stack connect). */
function systemCodeOf(error: unknown): string | undefined {
  const shape = shapeOf(error);
  if (typeof shape.code === 'string' && /^E[A-Z_]+$/.test(shape.code)) return shape.code;
  const inner = Array.isArray(shape.errors) ? shape.errors[0] : undefined;
  return inner === undefined ? undefined : systemCodeOf(inner);
}

export function isPreconditionFailed(error: unknown): boolean {
  return shapeOf(error).name === 'PreconditionFailed' || httpStatusOf(error) === 412;
}

/** A concurrent conditional write to the same key (AWS answers 409 and asks for a retry). */
export function isConditionalConflict(error: unknown): boolean {
  return shapeOf(error).name === 'ConditionalRequestConflict';
}

function fromCode(code: string, context: S3ErrorContext): string | undefined {
  const key = context.accessKeyId === undefined ? 'the access key' : `the access key '${context.accessKeyId}'`;
  switch (code) {
    case 'NoSuchBucket':
      return `the bucket '${context.bucket}' does not exist`;
    case 'NoSuchKey':
    case 'NotFound':
      return 'the file does not exist';
    case 'InvalidAccessKeyId':
      return `the server does not know ${key}: check accessKeyId / AWS_ACCESS_KEY_ID`;
    case 'SignatureDoesNotMatch':
      return `the secret key does not match ${key}: check secretAccessKey / AWS_SECRET_ACCESS_KEY`;
    case 'AccessDenied':
    case 'Forbidden':
    case 'AllAccessDisabled':
      return `access denied: ${key} is not allowed to do this in the bucket '${context.bucket}'`;
    case 'RequestTimeTooSkewed':
    case 'RequestExpired':
      return "this computer's clock is too far from the server's: set the clock right (NTP)";
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
      return 'the session token has expired: get new credentials';
    case 'InvalidToken':
      return 'the session token is not valid';
    case 'CredentialsProviderError':
      return 'no credentials were found: set accessKeyId and secretAccessKey in OPTIONS, '
        + 'or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an AWS profile';
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
      return `the bucket '${context.bucket}' is not in the region '${context.region}': set the region option to the bucket's region`;
    case 'PreconditionFailed':
      return 'another upload took the name at the same moment';
    case 'EntityTooLarge':
      return 'the file is larger than the server accepts';
    case 'InvalidBucketName':
      return `'${context.bucket}' is not a valid bucket name`;
    case 'SlowDown':
    case 'ServiceUnavailable':
    case 'InternalError':
      return 'the server is busy or failing; try again later';
    case 'ECONNREFUSED':
      return `nothing answers at ${context.endpoint}: is the server running, and is the endpoint right?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host of ${context.endpoint} could not be found (DNS): check the endpoint`;
    case 'ETIMEDOUT':
    case 'TimeoutError':
    case 'RequestTimeout':
      return `${context.endpoint} did not answer in time: check the endpoint and the network`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection to ${context.endpoint} was cut`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${context.endpoint} cannot be reached from this network`;
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'CERT_HAS_EXPIRED':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `the TLS certificate of ${context.endpoint} is not trusted`;
    default:
      return undefined;
  }
}

/** What an error from the SDK (or the network under it) means, in words a user can act on. */
export function explainS3Error(error: unknown, context: S3ErrorContext): S3FailureExplanation {
  const shape = shapeOf(error);
  const status = httpStatusOf(error);
  const tlsCode = typeof shape.code === 'string' && !/^E[A-Z_]+$/.test(shape.code) ? shape.code : undefined;
  let code = shape.Code ?? systemCodeOf(error) ?? tlsCode ?? shape.name ?? 'Error';
  // HEAD answers have no body: name the status the way the matching error document would.
  if (shape.Code === undefined && status !== undefined) {
    if (status === 404) code = 'NotFound';
    else if (status === 403) code = 'Forbidden';
    else if (status === 412) code = 'PreconditionFailed';
    else if (status === 301) code = 'PermanentRedirect';
  }
  const reason = fromCode(code, context)
    ?? (status === undefined ? shape.message ?? String(error) : `the server answered HTTP ${status}: ${shape.message ?? code}`);
  return { reason, code, notFound: code === 'NoSuchKey' || code === 'NotFound' };
}
