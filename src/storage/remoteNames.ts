/**
 * Storage names joined to a remote prefix (a key prefix, a container folder, a server folder). Remote
 * services have no safe_join of their own, so a name that climbs out of the prefix would silently reach other
 * files: it is refused here, whoever the caller (save() checks its names; open(), delete()… take any).
 */
import { SuspiciousFileOperation } from '../errors.ts';

export interface PrefixJoin {
  /** The prefix as shown in the error message. */
  shownBase: string;
  /** Whether '\' separates folders (true for names from Windows users; S3 keys keep it as a character). */
  backslashSeparates: boolean;
}

/** The name's path segments below the prefix: '.' and empty segments dropped, '..' resolved. */
export function segmentsBelow(name: string, { shownBase, backslashSeparates }: PrefixJoin): string[] {
  const path = backslashSeparates ? name.replaceAll('\\', '/') : name;
  const outside = () => new SuspiciousFileOperation(
    `The joined path (${name}) is located outside of the base path component (${shownBase})`,
  );
  if (path.startsWith('/')) throw outside();
  const kept: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (kept.length === 0) throw outside();
      kept.pop();
    } else {
      kept.push(segment);
    }
  }
  return kept;
}
