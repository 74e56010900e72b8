/**
 * Fields: what a model column holds, its default, how it goes to and from a JSON row, and its checks.
 */
import { ValidationError } from '../errors.ts';
import type { Model } from './Model.ts';

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

  /** The value a new instance starts with. */
  abstract initialValue(instance: Model): T;

  /** Checks and converts a value assigned to the attribute. */
  abstract assign(value: unknown, instance: Model): T;

  /** The JSON value kept in the row. */
  toRow(value: T): unknown {
    return value;
  }

  /** The attribute value for a JSON value read from a row. */
  fromRow(raw: unknown, instance: Model): T {
    return this.assign(raw, instance);
  }

  isEmpty(value: T): boolean {
    return value === null || value === undefined || (value as unknown) === '';
  }

  /** Django's full_clean() checks for this field. */
  validate(value: T): void {
    if (!this.blank && this.isEmpty(value)) {
      throw new ValidationError(`${this.name}: This field cannot be blank.`, { code: 'blank', params: { field: this.name } });
    }
  }

  /** Whether a stored value equals what a query asks for. */
  matches(value: T, wanted: unknown): boolean {
    return value === wanted;
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

  assign(value: unknown): number | null {
    if (value === null || value === undefined || value === '') return null;
    const number = typeof value === 'string' ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isSafeInteger(number)) {
      throw new TypeError(`${this.name} must be a whole number, got ${JSON.stringify(value)}.`);
    }
    return number;
  }
}
