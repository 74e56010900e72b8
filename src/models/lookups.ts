/**
 * Django's field lookups (`{ id__gt: 5 }`, `{ name__icontains: 'a' }`, `{ picture__startswith: 'p/' }`)
 * turned into the database layer's query tree, each value put in the column's terms by its field.
 */
import { LOOKUPS, type Lookup, type Where } from '../db/schema.ts';
import type { Field } from './fields.ts';

interface ModelLike {
  name: string;
  fields: Record<string, Field<any>>;
}

function choices(model: ModelLike): string {
  return ['id', ...Object.keys(model.fields)].join(', ');
}

/** `name__lookup` → the field's column and the lookup (`exact` when none is given). */
function parseKey(model: ModelLike, key: string): { column: string; field: Field<any> | null; lookup: Lookup } {
  const parts = key.split('__');
  let lookup: Lookup = 'exact';
  if (parts.length > 1 && (LOOKUPS as readonly string[]).includes(parts.at(-1)!)) lookup = parts.pop() as Lookup;
  const name = parts.join('__');
  if (name === 'id' || name === 'pk') return { column: 'id', field: null, lookup };
  const field = model.fields[name];
  if (field) return { column: field.lookupColumn, field, lookup };
  // A column a field keeps besides its own (picture_size, picture_width…) can be queried too.
  for (const candidate of Object.values(model.fields)) {
    if (candidate.columns().some((column) => column.name === name)) return { column: name, field: null, lookup };
  }
  if (parts.length > 1) throw new TypeError(`Unsupported lookup '${key.split('__').at(-1)}' for ${model.name}.${parts[0]} (lookups: ${LOOKUPS.join(', ')}).`);
  throw new TypeError(`Cannot resolve keyword '${name}' into field of ${model.name}. Choices are: ${choices(model)}.`);
}

function idValue(value: unknown): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) throw new TypeError(`Field 'id' expected a number but got ${JSON.stringify(value)}.`);
  return number;
}

function valueFor(field: Field<any> | null, column: string, lookup: Lookup, value: unknown): unknown {
  if (lookup === 'isnull') return Boolean(value);
  const one = (item: unknown): unknown => {
    if (column === 'id') return item === null || item === undefined ? null : idValue(item);
    const value = field ? field.queryValue(item ?? null) : item ?? null;
    if (value === null) return null;
    return ['contains', 'icontains', 'startswith', 'endswith', 'iexact'].includes(lookup) ? String(value) : value;
  };
  if (lookup === 'in') {
    if (!Array.isArray(value) && !(value instanceof Set)) throw new TypeError(`The '__in' lookup takes a list, got ${typeof value}.`);
    return [...value].map(one).filter((item) => item !== null);
  }
  return one(value);
}

/** The query tree of `{ field__lookup: value, … }` (every item must hold). */
export function whereOf(model: ModelLike, query: Record<string, unknown>): Where {
  const parts: Where[] = Object.entries(query).map(([key, value]) => {
    const { column, field, lookup } = parseKey(model, key);
    return { kind: 'lookup', column, lookup, value: valueFor(field, column, lookup, value) };
  });
  return parts.length === 1 ? parts[0]! : { kind: 'and', parts };
}

/** `'-id'`, `'name'` → columns and directions. */
export function orderingOf(model: ModelLike, names: readonly string[]): { column: string; descending: boolean }[] {
  return names.map((name) => {
    const descending = name.startsWith('-');
    const key = descending ? name.slice(1) : name;
    const { column, lookup } = parseKey(model, key);
    if (lookup !== 'exact' || key.includes('__')) throw new TypeError(`Cannot order ${model.name} by '${name}'. Choices are: ${choices(model)}.`);
    return { column, descending };
  });
}
