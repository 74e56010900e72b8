// ImageField decides from the bytes, never from the name: fakes are refused with a message that says what
// they are, and a refused (or failed) save leaves no file in MEDIA_ROOT and no row. Real images of every
// accepted format are stored with their dimensions and an extension that matches their bytes.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import {
  configure, ContentFile, File, FieldFile, FileField, FileSystemStorage, FileTooLarge, ImageField, Model,
  ValidationError, type ImageFieldFile,
} from '../src/index.ts';
import { Profile } from '../example/models.ts';
import { bytesOf, forEachEngine, openUploadEntries, projectPerTest } from './support/fixtures.ts';

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const isRoot = process.getuid?.() === 0;

forEachEngine((engine) => {
  const project = projectPerTest('filefield-images-', engine);
  const { openFixture } = project;


  /** Everything under MEDIA_ROOT, recursively, hidden and temporary entries included. */
  function everythingIn(folder: string): string[] {
    if (!fs.existsSync(folder)) return [];
    return (fs.readdirSync(folder, { recursive: true }) as string[]).sort();
  }

  /** The regular files under a folder (folders a failed save created may stay, as in Django). */
  function filesIn(folder: string): string[] {
    return everythingIn(folder).filter((entry) => !fs.statSync(join(folder, entry)).isDirectory());
  }

  class SvgProfile extends Model {
    static override table = 'SvgProfile';
    static override fields = { picture: new ImageField({ uploadTo: 'svgs', allowSvg: true }) };
    declare picture: ImageFieldFile;
  }

  class Photo extends Model {
    static override table = 'Photo';
    static override fields = { image: new ImageField({ uploadTo: 'photos' }) };
    declare image: ImageFieldFile;
  }

  class Upload extends Model {
    static override table = 'Upload';
    static override fields = { file: new FileField({ uploadTo: 'uploads' }) };
    declare file: FieldFile;
  }

  // ---------------------------------------------------------------------------------------------------------

  interface Fake {
    fixture: string;
    savedAs: string;
    code: string;
    says: RegExp;
  }

  const FAKES: Fake[] = [
    { fixture: 'html-posing.png', savedAs: 'html-posing.png', code: 'invalid_image', says: /is HTML, not an image/ },
    { fixture: 'script.svg', savedAs: 'script.png', code: 'svg_not_allowed', says: /is an SVG image; SVG is not allowed here/ },
    { fixture: 'plain.svg', savedAs: 'plain.svg', code: 'svg_not_allowed', says: /is an SVG image; SVG is not allowed here/ },
    { fixture: 'empty.png', savedAs: 'empty.png', code: 'empty', says: /is empty/ },
    { fixture: 'png-junk.png', savedAs: 'png-junk.png', code: 'invalid_image', says: /looks like a PNG image but its data is corrupt or truncated/ },
    { fixture: 'notes.txt', savedAs: 'notes.png', code: 'invalid_image', says: /is a text file, not an image/ },
  ];

  function assertRefusal(error: unknown, fake: Pick<Fake, 'code' | 'says'>): true {
    assert.ok(error instanceof ValidationError, `expected ValidationError, got ${String(error)}`);
    assert.equal(error.code, fake.code);
    assert.match(error.message, /^picture: Upload a valid image\. The file you uploaded was either not an image or a corrupted image\. It /);
    assert.match(error.message, fake.says);
    assert.equal(error.params.field, 'picture');
    return true;
  }

  async function assertNothingKept(): Promise<void> {
    assert.deepEqual(everythingIn(project.mediaRoot), [], 'nothing at all in MEDIA_ROOT');
    assert.equal(await Profile.objects.count(), 0, 'no row');
    assert.deepEqual(await openUploadEntries(), []);
  }

  describe('fake images are refused: ValidationError saying what was found, no file, no row', () => {
    for (const fake of FAKES) {
      test(`${fake.fixture} saved as ${fake.savedAs} through picture.save()`, async () => {
        const profile = new Profile();
        await assert.rejects(profile.picture.save(fake.savedAs, new File(openFixture(fake.fixture))), (error) => assertRefusal(error, fake));
        assert.equal(profile.id, null);
        assert.equal(profile.picture.name, '');
        await assertNothingKept();
      });

      test(`${fake.fixture} assigned, then instance.save() and objects.create()`, async () => {
        const profile = new Profile();
        profile.picture = new ContentFile(bytesOf(fake.fixture), fake.savedAs) as never;
        await assert.rejects(profile.save(), (error) => assertRefusal(error, fake));
        assert.equal(profile.id, null);
        await assert.rejects(
          Profile.objects.create({ picture: new ContentFile(bytesOf(fake.fixture), fake.savedAs) }),
          (error) => assertRefusal(error, fake),
        );
        await assertNothingKept();
      });

      test(`${fake.fixture} as a stream (unknown size)`, async () => {
        const profile = new Profile();
        const stream = Readable.from([bytesOf(fake.fixture)].filter((bytes) => bytes.byteLength > 0));
        await assert.rejects(profile.picture.save(fake.savedAs, new File(stream, fake.savedAs)), (error) => assertRefusal(error, fake));
        await assertNothingKept();
      });
    }


    test('a refused picture leaves an earlier one (file and row) as it was', async () => {
      const profile = new Profile();
      await profile.picture.save('me.png', new File(openFixture('image.png')));
      const kept = profile.picture.name;
      profile.picture = new ContentFile(bytesOf('html-posing.png'), 'evil.png') as never;
      await assert.rejects(profile.save(), ValidationError);
      assert.deepEqual(filesIn(project.mediaRoot), [kept]);
      const loaded = await Profile.objects.get(profile.id!);
      assert.equal(loaded.picture.name, kept);
      assert.equal(loaded.picture.width, 64);
    });

    test('SVG is accepted only by a field with allowSvg: true, stored as .svg with its size', async () => {
      const svg = new SvgProfile();
      await svg.picture.save('script.png', new File(openFixture('script.svg')));
      assert.equal(svg.picture.name, 'svgs/script.svg');
      assert.equal(svg.picture.contentType, 'image/svg+xml');
      assert.deepEqual([svg.picture.width, svg.picture.height], [120, 80]);
      assert.deepEqual(fs.readFileSync(join(project.mediaRoot, 'svgs', 'script.svg')), bytesOf('script.svg'));

      const plain = new SvgProfile();
      await plain.picture.save('plain.svg', new File(openFixture('plain.svg')));
      assert.equal(plain.picture.name, 'svgs/plain.svg');
      assert.deepEqual([plain.picture.width, plain.picture.height], [120, 80]);

      // The same field still refuses what is not an image.
      const html = new SvgProfile();
      await assert.rejects(html.picture.save('x.svg', new ContentFile(bytesOf('html-posing.png'))), { code: 'invalid_image' });
      assert.equal(await SvgProfile.objects.count(), 2);
    });
  });

  /** image.png with another size in its IHDR (and the IHDR's CRC made right again): a header an attacker forged. */
  function pngClaiming(width: number, height: number): Buffer {
    const bytes = Buffer.from(bytesOf('image.png'));
    bytes.writeUInt32BE(width, 16);
    bytes.writeUInt32BE(height, 20);
    bytes.writeUInt32BE(zlib.crc32(bytes.subarray(12, 29)), 29);
    return bytes;
  }

  const HTML = Buffer.from('<html><body><script>alert(document.cookie)</script></body></html>\n');
  const cut = (name: string, fraction: number) => bytesOf(name).subarray(0, Math.floor(bytesOf(name).byteLength * fraction));
  const gifHeaderAndPalette = () => bytesOf('image.gif').subarray(0, 13 + 3 * 2 ** ((bytesOf('image.gif')[10]! & 7) + 1));
  const pngWithBadIdatCrc = () => {
    const bytes = Buffer.from(bytesOf('image.png'));
    bytes[bytes.indexOf('IDAT') + 10]! ^= 0x01;
    return bytes;
  };

  /** Images that only look like images: their headers parse, their bodies do not hold together. */
  const FORGED: [what: string, bytes: () => Uint8Array, says: RegExp][] = [
    ['a 600x600 PNG cut after 600 bytes', () => pngClaiming(600, 600).subarray(0, 600), /It is a truncated PNG: ends inside IDAT\.$/],
    ['a PNG signature and IHDR followed by HTML', () => Buffer.concat([bytesOf('image.png').subarray(0, 33), HTML]), /It is a corrupt PNG: bytes that are not a chunk \("l><b"\) at byte 37\.$/],
    ['a PNG whose IDAT does not match its CRC', pngWithBadIdatCrc, /It is a corrupt PNG: the CRC of IDAT does not match its data\.$/],
    ['a PNG without its IEND', () => bytesOf('image.png').subarray(0, bytesOf('image.png').byteLength - 12), /It is a truncated PNG: ends inside a chunk header\.$/],
    ['a GIF header followed by HTML', () => Buffer.concat([gifHeaderAndPalette(), HTML]), /It is a corrupt GIF: "<" \(0x3c\) where a block starts, at byte \d+\.$/],
    ['a GIF cut in its image data', () => cut('image.gif', 0.6), /It is a truncated GIF: ends inside the image data\.$/],
    ['a JPEG cut in its scan', () => cut('image.jpg', 0.6), /It is a truncated JPEG: ends inside the image data\.$/],
    ['a JPEG whose end is HTML instead of EOI', () => Buffer.concat([bytesOf('image.jpg').subarray(0, -2), HTML]), /It is a truncated JPEG: ends inside the image data\.$/],
    ['a WebP cut short', () => cut('image.webp', 0.6), /It is a truncated WebP: ends inside VP8\.$/],
    ['a BMP cut in its pixels', () => cut('image.bmp', 0.9), /It is a truncated BMP: ends inside the pixel data\.$/],
    ['a TIFF cut after its IFD, before the data it points to', () => cut('image.tif', 0.95), /It is a truncated TIFF: ends inside the data the first IFD points to\.$/],
    ['an AVIF cut in its mdat box', () => cut('image.avif', 0.8), /It is a truncated AVIF: ends inside the mdat box\.$/],
    ['an ICO cut in its image', () => cut('image.ico', 0.6), /It is a truncated ICO: ends inside image 1\.$/],
  ];

  describe('images that only look like images: the whole file must hold together (as Pillow\'s verify())', () => {
    function assertForgery(error: unknown, says: RegExp): true {
      assertRefusal(error, { code: 'invalid_image', says });
      assert.match((error as Error).message, /^picture: Upload a valid image\. The file you uploaded was either not an image or a corrupted image\. It is a /);
      return true;
    }

    async function assertNoFileNoRow(): Promise<void> {
      assert.deepEqual(filesIn(project.mediaRoot), [], 'no file (nor temporary file) in MEDIA_ROOT');
      assert.equal(await Profile.objects.count(), 0, 'no row');
      assert.deepEqual(await openUploadEntries(), []);
    }

    for (const [what, bytes, says] of FORGED) {
      test(`${what}: refused, nothing stored`, async () => {
        const profile = new Profile();
        await assert.rejects(profile.picture.save('forged.png', new ContentFile(bytes())), (error) => assertForgery(error, says));
        assert.equal(profile.picture.name, '');
        await assertNoFileNoRow();
      });
    }

    test('refused as a stream too (unknown size), and with save: false', async () => {
      const [, bytes, says] = FORGED[0]!;
      await assert.rejects(new Profile().picture.save('forged.png', new File(Readable.from([bytes()]), 'forged.png')), (error) => assertForgery(error, says));
      await assert.rejects(new Profile().picture.save('forged.png', new ContentFile(bytes()), { save: false }), (error) => assertForgery(error, says));
      await assertNoFileNoRow();
    });

    test('a 64 MiB PNG is walked whole as it streams from disk, and a fault at its very end is found', async () => {
      // IHDR, one IDAT of 64 MiB (its CRC right), IEND: a valid structure. Written to disk, read from there.
      const png = bytesOf('image.png');
      const data = Buffer.alloc(64 * 1024 * 1024, 0x5a);
      const idatHeader = Buffer.alloc(8);
      idatHeader.writeUInt32BE(data.byteLength, 0);
      idatHeader.write('IDAT', 4, 'latin1');
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(zlib.crc32(data, zlib.crc32(idatHeader.subarray(4))), 0);
      const iend = png.subarray(png.byteLength - 12);
      const path = join(project.root, 'big.png');
      fs.writeFileSync(path, Buffer.concat([png.subarray(0, 33), idatHeader, data, crc, iend]));
      const profile = new Profile();
      await profile.picture.save('big.png', await File.open(path, 'big.png'));
      assert.equal(profile.picture.size, 33 + 8 + data.byteLength + 4 + 12);

      // The same bytes with IEND's CRC broken: refused, the 64 MiB not kept.
      const handle = fs.openSync(path, 'r+');
      fs.writeSync(handle, Buffer.from([0]), 0, 1, fs.fstatSync(handle).size - 1);
      fs.closeSync(handle);
      await assert.rejects(new Profile().picture.save('big.png', await File.open(path, 'big.png')), (error) => assertForgery(error, /the CRC of IEND does not match/));
      assert.deepEqual(filesIn(project.mediaRoot), [profile.picture.name]);
    });
  });

  describe('real images', () => {
    const FORMATS: [fixture: string, extension: string, contentType: string][] = [
      ['image.png', '.png', 'image/png'],
      ['image.jpg', '.jpg', 'image/jpeg'],
      ['image.gif', '.gif', 'image/gif'],
      ['image.webp', '.webp', 'image/webp'],
      ['image.bmp', '.bmp', 'image/bmp'],
      ['image.tif', '.tif', 'image/tiff'],
      ['image.ico', '.ico', 'image/x-icon'],
      ['image.avif', '.avif', 'image/avif'],
    ];

    for (const [name, extension, contentType] of FORMATS) {
      test(`${name}: accepted, 64x48, ${contentType}, stored byte for byte as ${extension}`, async () => {
        const profile = new Profile();
        await profile.picture.save(name, new File(openFixture(name)));
        assert.match(profile.picture.name, new RegExp(`^profile_pics/${UUID}\\${extension}$`));
        assert.deepEqual([profile.picture.width, profile.picture.height], [64, 48]);
        assert.equal(profile.picture.contentType, contentType);
        assert.equal(profile.picture.size, bytesOf(name).byteLength);
        assert.deepEqual(fs.readFileSync(profile.picture.path), bytesOf(name));
        const loaded = await Profile.objects.get(profile.id!);
        assert.deepEqual([loaded.picture.width, loaded.picture.height, loaded.picture.contentType], [64, 48, contentType]);
      });
    }

    test('4x8.png and 8x4.png keep width and height apart', async () => {
      const tall = await new Profile().picture.save('tall.png', new File(openFixture('4x8.png')));
      const wide = await new Profile().picture.save('wide.png', new File(openFixture('8x4.png')));
      assert.deepEqual([tall.width, tall.height], [4, 8]);
      assert.deepEqual([wide.width, wide.height], [8, 4]);
    });

    test('a stream (unknown size) is measured and stored whole', async () => {
      const profile = new Profile();
      const stream = Readable.from([bytesOf('image.png').subarray(0, 100), bytesOf('image.png').subarray(100)]);
      await profile.picture.save('streamed.png', new File(stream, 'streamed.png'));
      assert.deepEqual([profile.picture.width, profile.picture.height], [64, 48]);
      assert.equal(profile.picture.size, bytesOf('image.png').byteLength);
      assert.deepEqual(fs.readFileSync(profile.picture.path), bytesOf('image.png'));
    });

    test("a name whose extension disagrees gets the bytes' extension (image.jpg saved as photo.png → .jpg)", async () => {
      const profile = new Profile();
      await profile.picture.save('photo.png', new File(openFixture('image.jpg')));
      assert.match(profile.picture.name, new RegExp(`^profile_pics/${UUID}\\.jpg$`));
      assert.equal(profile.picture.contentType, 'image/jpeg');

      const photo = new Photo();
      await photo.image.save('photo.png', new File(openFixture('image.jpg')));
      assert.equal(photo.image.name, 'photos/photo.jpg');
      await photo.image.save('archive.tar.png', new File(openFixture('image.gif')));
      assert.equal(photo.image.name, 'photos/archive.tar.gif');
      await photo.image.save('noextension', new File(openFixture('image.webp')));
      assert.equal(photo.image.name, 'photos/noextension.webp');
      assert.deepEqual(fs.readFileSync(join(project.mediaRoot, 'photos', 'photo.jpg')), bytesOf('image.jpg'));
    });

    test('an extension that agrees is kept as written (.jpeg, .JPG, .tiff)', async () => {
      const photo = new Photo();
      await photo.image.save('a.jpeg', new File(openFixture('image.jpg')));
      assert.equal(photo.image.name, 'photos/a.jpeg');
      await photo.image.save('b.JPG', new File(openFixture('image.jpg')));
      assert.equal(photo.image.name, 'photos/b.JPG');
      await photo.image.save('c.tiff', new File(openFixture('image.tif')));
      assert.equal(photo.image.name, 'photos/c.tiff');
    });
  });

  describe('FILE_UPLOAD_MAX_SIZE', () => {
    function bigStream(total: number): Readable {
      const piece = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      return new Readable({
        read() {
          if (sent >= total) return void this.push(null);
          sent += piece.byteLength;
          this.push(piece);
        },
      });
    }

    test('a big stream into a FileField → FileTooLarge; no file, no row', async () => {
      await configure(project.settings({ FILE_UPLOAD_MAX_SIZE: 100_000 }));
      const upload = new Upload();
      await assert.rejects(upload.file.save('big.bin', new File(bigStream(4 * 1024 * 1024), 'big.bin')), (error: unknown) =>
        error instanceof FileTooLarge && error.limit === 100_000 && error instanceof ValidationError);
      assert.deepEqual(filesIn(project.mediaRoot), []);
      assert.equal(await Upload.objects.count(), 0);
      assert.deepEqual(await openUploadEntries(), []);

      // Under the limit, the same field stores.
      await upload.file.save('small.bin', new File(bigStream(64 * 1024), 'small.bin'));
      assert.equal(upload.file.size, 64 * 1024);
      assert.equal(await Upload.objects.count(), 1);
    });

    test('an image over the limit → FileTooLarge, whether its size is known or streamed', async () => {
      await configure(project.settings({ FILE_UPLOAD_MAX_SIZE: 500 }));
      const profile = new Profile();
      await assert.rejects(profile.picture.save('me.png', new File(openFixture('image.png'))), FileTooLarge);
      await assert.rejects(profile.picture.save('me.png', new ContentFile(bytesOf('image.png'))), FileTooLarge);
      const stream = Readable.from([bytesOf('image.png').subarray(0, 300), bytesOf('image.png').subarray(300)]);
      await assert.rejects(profile.picture.save('me.png', new File(stream, 'me.png')), FileTooLarge);
      assert.deepEqual(filesIn(project.mediaRoot), []);
      assert.equal(await Profile.objects.count(), 0);
      assert.equal(profile.picture.name, '');
    });
  });

  describe('a failure after the bytes are stored removes them again', () => {
    test('a project.database error (DATABASE is a folder) leaves no stored file; a later save works', { skip: project.engine !== 'json' && 'the JSON file (the SQL engines: test/models-sql-processes.test.ts)' }, async () => {
      const folder = join(project.root, 'db-is-a-folder');
      fs.mkdirSync(folder);
      await configure(project.settings({ DATABASE: folder }));
      const profile = new Profile();
      await assert.rejects(profile.picture.save('me.png', new File(openFixture('image.png'))), { name: 'UnreadableDatabase', message: /cannot be read: it is a folder, not a file/ });
      assert.deepEqual(filesIn(project.mediaRoot), [], 'the stored picture was deleted again');
      assert.equal(profile.id, null);

      const upload = new Upload();
      upload.file = new ContentFile('retry me', 'retry.txt') as never;
      await assert.rejects(upload.save(), { name: 'UnreadableDatabase', message: /cannot be read: it is a folder, not a file/ });
      assert.deepEqual(filesIn(project.mediaRoot), []);
      assert.equal(upload.file.committed, false, 'the content is still to be stored');

      // With a working project.database, saving again stores the same content (it was not lost with the failed save).
      await configure(project.settings());
      await upload.save();
      assert.equal(upload.file.name, 'uploads/retry.txt');
      assert.equal(fs.readFileSync(join(project.mediaRoot, 'uploads', 'retry.txt'), 'utf8'), 'retry me');
      assert.equal((await Upload.objects.get(upload.id!)).file.name, 'uploads/retry.txt');
      assert.deepEqual(await openUploadEntries(), []);
    });

    test('a read-only DATABASE folder: the save fails and no file is stored', { skip: (isRoot && 'root ignores folder permissions') || (project.engine !== 'json' && 'the JSON file') }, async () => {
      const folder = join(project.root, 'readonly');
      fs.mkdirSync(folder);
      fs.chmodSync(folder, 0o500);
      try {
        await configure(project.settings({ DATABASE: join(folder, 'db.json') }));
        const profile = new Profile();
        await assert.rejects(profile.picture.save('me.png', new File(openFixture('image.png'))));
        assert.deepEqual(filesIn(project.mediaRoot), []);
      } finally {
        fs.chmodSync(folder, 0o700);
      }
    });

    test("a storage failing after it stored (size() of a stream's file) leaves no file and no row", async () => {
      class SizeFails extends FileSystemStorage {
        override async size(): Promise<number> {
          throw new Error('size() is unavailable');
        }
      }
      class Fragile extends Model {
        static override table = 'Fragile';
        static override fields = { file: new FileField({ uploadTo: 'fragile', storage: new SizeFails() }) };
        declare file: FieldFile;
      }
      const fragile = new Fragile();
      await assert.rejects(fragile.file.save('a.txt', new File(Readable.from([Buffer.from('streamed')]), 'a.txt')), /size\(\) is unavailable/);
      assert.deepEqual(filesIn(project.mediaRoot), []);
      assert.equal(await Fragile.objects.count(), 0);
      assert.deepEqual(await openUploadEntries(), []);
    });
  });
});
