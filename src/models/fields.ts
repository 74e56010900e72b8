/**
 * Fields: what a model attribute holds, its default, the columns it is kept in and how it goes to and from
 * them, its checks, and the hooks a save calls (Django's pre_save), so that Model needs to know no field kind.
 */
import type { Column, Row } from '../db/schema.ts';
import { ValidationError } from '../errors.ts';
import type { StoreHooks } from './FieldFile.ts';
import type { Model } from './Model.ts';

/** What a field's preSave() may ask of the save under way (see RowSave). */
export interface SaveContext {
  /** Runs `step` if the save fails after this point (in reverse order of registration). */
  onFailure(step: () => Promise<void>): void;
  /** For a field that stores a file: hooks that record it as in flight until the row is written. */
  storeHooks(field: string, onStored?: (storedName: string) => void): StoreHooks;
  /** For a field that stores a file: first removes what saves in dead processes left (once per save). */
  sweepAbandonedUploads(): Promise<unknown>;
}

export interface FieldOptions<T> {
  /** The value of a new instance (a function is called for each instance). */
  default?: T | (() => T);
  /** Whether an empty value is acceptable (checked by fullClean(), as in Django). */
  blank?: boolean;
  /** Whether null is a value (else null becomes the empty value). */
  null?: boolean;
}

export abstract class Field<T = unknown> {
  /** The attribute name, set when the model is prepared. */
  name = '';
  readonly blank: boolean;
  readonly nullable: boolean;

  constructor(options: { blank?: boolean; null?: boolean } = {}) {
    this.blank = options.blank ?? false;
    this.nullable = options.null ?? false;
  }

  /** Whether the field holds a file in a storage (FileField, ImageField). */
  get holdsFile(): boolean {
    return false;
  }

  /** The value a new instance starts with. */
  abstract initialValue(instance: Model): T;

  /** Checks and converts a value assigned to the attribute. */
  abstract assign(value: unknown, instance: Model): T;

  /** The columns the field is kept in: one named after it, unless a field keeps more. */
  abstract columns(): Column[];

  /** The column a query on the field's name looks at. */
  get lookupColumn(): string {
    return this.name;
  }

  /** The column values for the attribute's value. */
  toColumns(value: T): Record<string, unknown> {
    return { [this.name]: value };
  }

  /** The attribute value for a row's columns. */
  fromColumns(row: Row, instance: Model): T {
    return this.assign(row[this.name], instance);
  }

  /** A value a query compares the field's column with, in the column's terms. */
  queryValue(wanted: unknown): unknown {
    return wanted;
  }

  /** Called after a value is assigned to the attribute (ImageField keeps its dimension fields up to date). */
  valueAssigned(_instance: Model, _value: T): void {}

  /** Before the row is written (Django's pre_save): a file field stores the content assigned to it. */
  async preSave(_instance: Model, _context: SaveContext): Promise<void> {}

  /** After the row is written. */
  async postSave(_instance: Model): Promise<void> {}

  isEmpty(value: T): boolean {
    return value === null || value === undefined || (value as unknown) === '';
  }

  /** Django's full_clean() checks for this field. */
  validate(value: T): void {
    if (!this.blank && this.isEmpty(value)) {
      throw new ValidationError(`${this.name}: This field cannot be blank.`, { code: 'blank', params: { field: this.name } });
    }
  }

}

/** A field holding a plain JSON value, with a default. */
abstract class ScalarField<T> extends Field<T> {
  private readonly defaultOption: T | (() => T) | undefined;

  constructor(options: FieldOptions<T> = {}) {
    super(options);
    this.defaultOption = options.default;
  }

  abstract emptyValue(): T;

  initialValue(): T {
    const option = this.defaultOption;
    if (option === undefined) return this.emptyValue();
    return typeof option === 'function' ? (option as () => T)() : option;
  }
}

export interface CharFieldOptions extends FieldOptions<string | null> {
  maxLength?: number;
}

export class CharField extends ScalarField<string | null> {
  readonly maxLength: number | undefined;

  constructor(options: CharFieldOptions = {}) {
    super(options);
    this.maxLength = options.maxLength;
  }

  emptyValue(): string | null {
    return this.nullable ? null : '';
  }

  columns(): Column[] {
    return [{ name: this.name, type: 'text', nullable: this.nullable }];
  }

  override queryValue(wanted: unknown): unknown {
    return typeof wanted === 'number' ? String(wanted) : wanted;
  }

  assign(value: unknown): string | null {
    if (value === null || value === undefined) return this.emptyValue();
    if (typeof value !== 'string') throw new TypeError(`${this.name} must be a string, got ${typeof value}.`);
    return value;
  }

  override validate(value: string | null): void {
    super.validate(value);
    const length = value === null ? 0 : Array.from(value).length;
    if (this.maxLength !== undefined && length > this.maxLength) {
      throw new ValidationError(
        `${this.name}: Ensure this value has at most ${this.maxLength} characters (it has ${length}).`,
        { code: 'max_length', params: { field: this.name, limit: this.maxLength, length } },
      );
    }
  }
}

export class IntegerField extends ScalarField<number | null> {
  emptyValue(): number | null {
    return null;
  }

  columns(): Column[] {
    return [{ name: this.name, type: 'integer', nullable: true }];
  }

  override queryValue(wanted: unknown): unknown {
    return this.assign(wanted);
  }

  assign(value: unknown): number | null {
    if (value === null || value === undefined || value === '') return null;
    const number = typeof value === 'string' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
      throw new TypeError(`${this.name} must be a whole number, got ${JSON.stringify(value)}.`);
    }
    return number;
  }
}
