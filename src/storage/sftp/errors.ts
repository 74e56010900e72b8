/**
 * SSH and SFTP failures turned into StorageOperationErrors that say what to change: the host key, the
 * credentials, the host and port, the permissions on the server…
 */
import { StorageOperationError, firstLineOf } from '../operationError.ts';

/** Why a connection could not be made, already worded for the user. */
export class SftpConnectionFailure extends Error {
  override name = 'SftpConnectionFailure';

  constructor(readonly reason: string, readonly code: string, options?: { cause?: unknown }) {
    super(reason, options);
  }
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02) as ssh2 reports them in `code`. */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

export function isNoSuchFile(error: unknown): boolean {
  const code = codeOf(error);
  return code === SFTP_NO_SUCH_FILE || code === 'ENOENT';
}

/** A failure of the connection itself (as opposed to an SFTP status for one request). */
export function isConnectionLost(error: unknown): boolean {
  if (error instanceof SftpConnectionFailure) return true;
  const code = codeOf(error);
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_NOT_CONNECTED') return true;
  // "No response from server": ssh2 fails the requests still pending when the channel closes.
  return /Unexpected (close|end) event|No SFTP connection|Not connected|connection lost|No response from server/i.test(firstLineOf(error));
}

export interface SftpErrorContext {
  alias: string | null;
  host: string;
  port: number;
}

function reasonFor(context: SftpErrorContext, cause: unknown): { reason: string; code?: string } {
  if (cause instanceof SftpConnectionFailure) return { reason: cause.reason, code: cause.code };
  // ssh2-sftp-client prefixes its method's name ("_put: …", "list: …"): the rest is the server's words.
  const detail = firstLineOf(cause).replace(/^[\w>-]+: /, '');
  if (isNoSuchFile(cause)) return { reason: `no such file on the server (${detail}).`, code: 'ENOENT' };
  if (codeOf(cause) === SFTP_PERMISSION_DENIED || codeOf(cause) === 'EACCES') {
    return { reason: `permission denied on the server (${detail}): check the rights of the SFTP user on 'root'.`, code: 'EACCES' };
  }
  if (isConnectionLost(cause)) {
    return { reason: `the connection to ${context.host}:${context.port} was lost (${detail}); the next operation reconnects.`, code: 'ECONNRESET' };
  }
  return { reason: detail };
}

export function sftpOperationError(context: SftpErrorContext, operation: string, fileName: string | null, cause: unknown): StorageOperationError {
  const { reason, code } = reasonFor(context, cause);
  return new StorageOperationError({ backend: 'SFTPStorage', alias: context.alias, operation, fileName, reason, code, cause });
}
