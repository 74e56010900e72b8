/**
 * ImageFile: a File whose width and height are read from its bytes (the header only), never trusted
 * from a name.
 */
import { File } from './File.ts';
import { inspectImage, type ImageInfo, type InspectOptions } from './imageInspection.ts';

export class ImageFile extends File {
  private info: ImageInfo | undefined;

  /** Opens a local image and reads its dimensions, so width and height are ready. */
  static override async open(path: string, name: string | null = path): Promise<ImageFile> {
    const image = new ImageFile(await File.open(path, name));
    try {
      await image.readDimensions();
    } catch (error) {
      await image.close(); // not handed to the caller: nobody else could close it
      throw error;
    }
    return image;
  }

  /** Checks that the bytes are an image and reads its type and size; throws ValidationError otherwise. */
  async readDimensions(options?: InspectOptions): Promise<ImageInfo> {
    this.info ??= await inspectImage((length) => this.peekStart(length), options);
    return this.info;
  }

  get width(): number {
    return this.requireInfo().width;
  }

  get height(): number {
    return this.requireInfo().height;
  }

  private requireInfo(): ImageInfo {
    if (!this.info) throw new Error('The image has not been read yet: await image.readDimensions() first (ImageFile.open() does it).');
    return this.info;
  }
}
