/**
 * MEDIA_ROOT's FileSystemStorage, which a test can make pause between storing a file and returning (so that
 * the save that stored it is in progress, its row not yet written, for as long as the test wants).
 */
import { FileSystemStorage, type File } from '../../src/index.ts';

export class PausableStorage extends FileSystemStorage {
  pause: { stored: (name: string) => void; resume: Promise<void> } | null = null;

  protected override async _save(name: string, content: File): Promise<string> {
    const stored = await super._save(name, content);
    const pause = this.pause;
    if (pause) {
      this.pause = null;
      pause.stored(stored);
      await pause.resume;
    }
    return stored;
  }

  /** Makes the next save pause once stored: resolves `stored` with its name; the save goes on after resume(). */
  pauseNextSave(): { stored: Promise<string>; resume: () => void } {
    let resume!: () => void;
    const stored = new Promise<string>((resolve) => {
      this.pause = { stored: resolve, resume: new Promise<void>((done) => (resume = done)) };
    });
    return { stored, resume };
  }
}
