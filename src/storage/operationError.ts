/**
 * StorageOperationError: what a remote backend throws when the service fails, worded so that the reader
 * knows which storage (its STORAGES alias), which operation on which name, and what to change.
 */

export interface StorageOperationErrorDetails {
  /** The backend's class name, e.g. 'AzureStorage'. */
  backend: string;
  /** The STORAGES alias, or null for a storage constructed directly. */
  alias: string | null;
  /** 'save', 'open', 'delete', 'exists', 'listdir', 'size', 'connect'… */
  operation: string;
  /** The storage name the operation was about, if any. */
  fileName?: string | null;
  /** Why, in words a user can act on. */
  reason: string;
  /** A short machine-readable code: 'ENOENT', 'EACCES', 'ECONNREFUSED', 'ContainerNotFound'… */
  code?: string;
  cause?: unknown;
}

export class StorageOperationError extends Error {
  override name = 'StorageOperationError';
  readonly backend: string;
  readonly alias: string | null;
  readonly operation: string;
  readonly fileName: string | null;
  readonly reason: string;
  readonly code: string | undefined;

  constructor(details: StorageOperationErrorDetails) {
    super(StorageOperationError.messageOf(details), details.cause === undefined ? undefined : { cause: details.cause });
    this.backend = details.backend;
    this.alias = details.alias;
    this.operation = details.operation;
    this.fileName = details.fileName ?? null;
    this.reason = details.reason;
    this.code = details.code;
  }

  /**
   * The same failure reported as part of a larger operation (an exists() check made by save() fails as
   * "save of 'x' failed"), as the user sees only the call they made.
   */
  during(operation: string): StorageOperationError {
    if (operation === this.operation) return this;
    const { backend, alias, fileName, reason, code } = this;
    return new StorageOperationError({ backend, alias, operation, fileName, reason, code, cause: this.cause });
  }

  /** `AzureStorage 'default': save of 'a/b.txt' failed: <reason>` */
  static messageOf(details: StorageOperationErrorDetails): string {
    const storage = details.alias === null ? details.backend : `${details.backend} '${details.alias}'`;
    const subject = details.fileName ? `${details.operation} of '${details.fileName}'` : details.operation;
    return `${storage}: ${subject} failed: ${details.reason}`;
  }
}

/** The first line of an error's message (service errors often append request ids and XML). */
export function firstLineOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}
