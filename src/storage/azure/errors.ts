/**
 * Azure service and network failures turned into StorageOperationErrors that say what to change: the key,
 * the container, the endpoint… The SDK's own message (an XML body with request ids) stays on `cause`.
 */
import { StorageOperationError, firstLineOf } from '../operationError.ts';

/** The fields of the SDK's RestError that matter here (read structurally: the SDK is not loaded to check). */
export interface ServiceFailure {
  statusCode: number | undefined;
  /** The service's error code (`BlobNotFound`…) or Node's network code (`ECONNREFUSED`…). */
  code: string | undefined;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
]);

export function serviceFailureOf(error: unknown): ServiceFailure {
  if (typeof error !== 'object' || error === null) return { statusCode: undefined, code: undefined };
  const { statusCode, code, details, cause } = error as {
    statusCode?: unknown; code?: unknown; details?: { errorCode?: unknown }; cause?: { code?: unknown };
  };
  let serviceCode = typeof details?.errorCode === 'string' ? details.errorCode : typeof code === 'string' ? code : undefined;
  // The SDK reports refused connections as REQUEST_SEND_ERROR with Node's code further down.
  if ((serviceCode === undefined || serviceCode === 'REQUEST_SEND_ERROR') && typeof cause?.code === 'string') serviceCode = cause.code;
  if (serviceCode === 'REQUEST_SEND_ERROR') {
    const networkCode = /\b(E[A-Z_]{3,})\b/.exec(firstLineOf(error))?.[1];
    if (networkCode) serviceCode = networkCode;
  }
  return { statusCode: typeof statusCode === 'number' ? statusCode : undefined, code: serviceCode };
}

export function isNotFound(error: unknown): boolean {
  const { statusCode, code } = serviceFailureOf(error);
  return statusCode === 404 || code === 'BlobNotFound';
}

/** The blob was created by someone else first: the create-only condition failed. */
export function isNameTaken(error: unknown): boolean {
  const { statusCode, code } = serviceFailureOf(error);
  // Other 409s (a container being deleted, a lease…) would fail again under any name: they are not clashes.
  return code === 'BlobAlreadyExists' || code === 'ConditionNotMet' || statusCode === 412;
}

/** A commit whose blocks vanished: a concurrent writer committed the same name first (that discards them). */
export function isBlockListLost(error: unknown): boolean {
  return serviceFailureOf(error).code === 'InvalidBlockList';
}

export interface AzureErrorContext {
  alias: string | null;
  container: string;
  endpoint: string;
}

function reasonFor(failure: ServiceFailure, context: AzureErrorContext, cause: unknown): { reason: string; code?: string } {
  const { statusCode, code } = failure;
  const status = statusCode === undefined ? '' : `HTTP ${statusCode}`;
  const tag = [code, status].filter(Boolean).join(', ');
  if (code === 'AuthenticationFailed' || code === 'AuthorizationFailure' || (statusCode === 403 && code === undefined)) {
    return {
      reason: `the service rejected the credentials (${tag}): check accountKey, sasToken or connectionString (the account at ${context.endpoint}).`,
      code: 'EACCES',
    };
  }
  if (statusCode === 403) {
    return { reason: `access denied (${tag}): the key or SAS token does not allow this operation.`, code: 'EACCES' };
  }
  if (code === 'ContainerNotFound') {
    return {
      reason: `the container '${context.container}' does not exist at ${context.endpoint} (${tag}): create it, or fix the 'container' option.`,
      code: 'ContainerNotFound',
    };
  }
  if (code === 'BlobNotFound' || statusCode === 404) {
    return { reason: `no such file (${tag}).`, code: 'ENOENT' };
  }
  if (code !== undefined && NETWORK_CODES.has(code)) {
    return { reason: `cannot reach the blob service at ${context.endpoint} (${code}): check 'endpoint' and the network.`, code };
  }
  if (code === 'ConditionNotMet' || code === 'BlobAlreadyExists') {
    return { reason: `a blob of that name already exists (${tag}).`, code: 'EEXIST' };
  }
  const detail = firstLineOf(cause);
  return { reason: tag ? `${detail} (${tag}).` : detail, ...(code === undefined ? {} : { code }) };
}

/** A StorageOperationError for an SDK failure of `operation` on `fileName`. */
export function azureOperationError(context: AzureErrorContext, operation: string, fileName: string | null, cause: unknown): StorageOperationError {
  const { reason, code } = reasonFor(serviceFailureOf(cause), context, cause);
  return new StorageOperationError({ backend: 'AzureStorage', alias: context.alias, operation, fileName, reason, code, cause });
}
