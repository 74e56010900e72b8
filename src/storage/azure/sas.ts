/**
 * Service SAS tokens for one blob, signed here with node:crypto.
 *
 * The SDK's generateBlobSASQueryParameters is synchronous, but the SDK itself loads asynchronously (it is
 * imported only when first used) while storage.url() is synchronous like Django's; the signature is a single
 * HMAC, so it is computed here. The tests check it against the SDK's, field for field.
 * Reference: https://learn.microsoft.com/rest/api/storageservices/create-service-sas (version 2020-12-06 and later).
 */
import { createHmac } from 'node:crypto';

/** A service version that both Azure and azurite accept, with the 2020-12-06 string-to-sign layout. */
export const SAS_VERSION = '2022-11-02';

export interface BlobSasRequest {
  accountName: string;
  /** The base64 account key. */
  accountKey: string;
  container: string;
  /** The blob name as stored (not URL-encoded). */
  blobName: string;
  /** SAS permission letters in the service's order, e.g. 'r' (read) or 'rw'. */
  permissions: string;
  expiresOn: Date;
  startsOn?: Date;
  /** 'https' to refuse plain http; default: both. */
  protocol?: 'https' | 'https,http';
  version?: string;
}

/** `2024-01-02T03:04:05Z`: the service wants whole seconds. */
function sasTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The query string (without '?') that grants `permissions` on one blob until `expiresOn`. */
export function blobSasQuery(request: BlobSasRequest): string {
  const version = request.version ?? SAS_VERSION;
  const start = request.startsOn ? sasTime(request.startsOn) : '';
  const expiry = sasTime(request.expiresOn);
  const resource = 'b';
  const stringToSign = [
    request.permissions,
    start,
    expiry,
    `/blob/${request.accountName}/${request.container}/${request.blobName}`,
    '', // signed identifier (a stored access policy): none
    '', // signed IP range: any
    request.protocol ?? '',
    version,
    resource,
    '', // snapshot time
    '', // encryption scope
    '', // response Cache-Control override
    '', // response Content-Disposition override
    '', // response Content-Encoding override
    '', // response Content-Language override
    '', // response Content-Type override
  ].join('\n');
  const signature = createHmac('sha256', Buffer.from(request.accountKey, 'base64')).update(stringToSign, 'utf8').digest('base64');
  const parameters: Array<[string, string]> = [['sv', version]];
  if (request.protocol) parameters.push(['spr', request.protocol]);
  if (start) parameters.push(['st', start]);
  parameters.push(['se', expiry], ['sr', resource], ['sp', request.permissions], ['sig', signature]);
  return parameters.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
}
