/**
 * Queries run in the process (the JSON engine): the same lookups the SQL engines run, with the same
 * meaning (`contains` is case-sensitive, `iexact`/`icontains` are not, null never matches a comparison).
 */
import type { Ordering, Row, Where } from './schema.ts';

function compare(left: unknown, right: unknown): number {
  if (typeof left === 'number' && typeof right === 'number') return left - right;
  const a = String(left);
  const b = String(right);
  return a < b ? -1 : a > b ? 1 : 0;
}

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function lookupMatches(stored: unknown, lookup: string, wanted: unknown): boolean {
  if (lookup === 'isnull') return (stored === null || stored === undefined) === Boolean(wanted);
  if (stored === null || stored === undefined) return lookup === 'exact' && (wanted === null || wanted === undefined);
  switch (lookup) {
    case 'exact':
      return typeof stored === 'number' && typeof wanted === 'string' ? stored === Number(wanted) : stored === wanted;
    case 'iexact':
      return text(stored)!.toLowerCase() === String(wanted).toLowerCase();
    case 'in':
      return (wanted as unknown[]).some((candidate) => lookupMatches(stored, 'exact', candidate));
    case 'gt':
      return wanted !== null && compare(stored, wanted) > 0;
    case 'gte':
      return wanted !== null && compare(stored, wanted) >= 0;
    case 'lt':
      return wanted !== null && compare(stored, wanted) < 0;
    case 'lte':
      return wanted !== null && compare(stored, wanted) <= 0;
    case 'contains':
      return text(stored)!.includes(String(wanted));
    case 'icontains':
      return text(stored)!.toLowerCase().includes(String(wanted).toLowerCase());
    case 'startswith':
      return text(stored)!.startsWith(String(wanted));
    case 'endswith':
      return text(stored)!.endsWith(String(wanted));
    default:
      throw new Error(`Unknown lookup '${lookup}'.`);
  }
}

/** Whether a row matches a query tree. */
export function rowMatches(row: Row, where: Where | undefined): boolean {
  if (!where) return true;
  switch (where.kind) {
    case 'and':
      return where.parts.every((part) => rowMatches(row, part));
    case 'not':
      return !rowMatches(row, where.part);
    case 'lookup':
      return lookupMatches(row[where.column], where.lookup, where.value);
  }
}

/** Sorts rows as ORDER BY would (nulls first ascending, as PostgreSQL's DESC NULLS FIRST mirrors). */
export function sortRows(rows: Row[], orderBy: readonly Ordering[]): Row[] {
  return rows.sort((a, b) => {
    for (const { column, descending } of orderBy) {
      const left = a[column];
      const right = b[column];
      let order: number;
      if (left === right) order = 0;
      else if (left === null || left === undefined) order = -1;
      else if (right === null || right === undefined) order = 1;
      else order = compare(left, right);
      if (order !== 0) return descending ? -order : order;
    }
    return 0;
  });
}
