/**
 * The SDK's container client, built on first use: @azure/storage-blob is imported here, dynamically, so
 * that importing filefield/storage/azure (or configuring it) costs nothing until a file is touched.
 */
import type { ContainerClient } from '@azure/storage-blob';
import type { ResolvedAzureOptions } from './options.ts';

export async function createContainerClient(options: ResolvedAzureOptions): Promise<ContainerClient> {
  const { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
  const credential = options.accountKey !== null
    ? new StorageSharedKeyCredential(options.accountName, options.accountKey)
    : new AnonymousCredential();
  const serviceUrl = options.accountKey === null && options.sasToken !== null
    ? `${options.endpoint}?${options.sasToken}`
    : options.endpoint;
  const service = new BlobServiceClient(serviceUrl, credential, {
    retryOptions: {
      maxTries: options.maxTries,
      ...(options.timeoutSecs === null ? {} : { tryTimeoutInMs: options.timeoutSecs * 1000 }),
    },
    userAgentOptions: { userAgentPrefix: 'filefield' },
  });
  return service.getContainerClient(options.container);
}
