/** What the direct-upload tests share: an S3Storage on s3rver, and a model with an image field on a storage. */
import { ImageField, Model, type ImageFieldFile, type Storage } from '../../src/index.ts';
import { S3Storage } from '../../src/storage/s3/index.ts';
import { S3RVER_CREDENTIALS, type RunningS3rver } from './s3rver.ts';

export function s3StorageOn(server: RunningS3rver, location: string): S3Storage {
  return new S3Storage({ bucket: server.bucket, endpoint: server.endpoint, region: 'us-east-1', ...S3RVER_CREDENTIALS, location });
}

export interface ImageRecord extends Model {
  image: ImageFieldFile;
}

/** A model (table `table`) with one image field, `image`, stored under avatars/ in `storage`. */
export function imageModel(table: string, storage: Storage): { new (): ImageRecord; objects: typeof Model.objects } {
  return class extends Model {
    static override table = table;
    static override fields = { image: new ImageField({ uploadTo: 'avatars', storage }) };
    declare image: ImageFieldFile;
  } as unknown as { new (): ImageRecord; objects: typeof Model.objects };
}
