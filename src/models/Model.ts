/**
 * Model: a class whose static `fields` describe a row. Instances read and write their fields as plain
 * properties; save() runs each field's preSave() hook, then has the database write the row, all or nothing.
 * What a field does on a save (storing a file, measuring an image) is the field's business, not the model's.
 */
import { inspect } from 'node:util';
import { settings } from '../conf/settings.ts';
import type { Row, TableSchema } from '../db/schema.ts';
import { DatabaseError, ValidationError } from '../errors.ts';
import { activeDatabase } from './activeDatabase.ts';
import type { FileField } from './FileField.ts';
import { Field } from './fields.ts';
import { Manager } from './Manager.ts';
import { modelRegistry } from './registry.ts';
import { RowSave } from './rowSave.ts';
import { cleanUpReplacedFiles, rememberRowFiles } from './cleanup.ts';

export { modelRegistry };

const VALUES = Symbol('filefield.values');
const PREPARED = Symbol('filefield.prepared');

export type ModelClass<M extends Model = Model> = (new (data?: Record<string, unknown>) => M) & typeof Model;

/** Whether a module's export is a model (a subclass of this copy's Model). */
export function isModelClass(value: unknown): value is ModelClass {
  return typeof value === 'function' && value.prototype instanceof Model;
}

/** Gives the model's prototype one property per field, backed by the instance's values. */
function prepare(model: typeof Model): void {
  if (Object.hasOwn(model, PREPARED)) return;
  const fields = model.fields;
  if (typeof fields !== 'object' || fields === null) throw new TypeError(`${model.name}.fields must be an object of fields.`);
  for (const [name, field] of Object.entries(fields)) {
    if (!(field instanceof Field)) throw new TypeError(`${model.name}.fields.${name} is not a Field.`);
    if (name === 'id') throw new TypeError(`${model.name}.fields cannot define 'id': it is the row's own key.`);
    field.name = name;
    Object.defineProperty(model.prototype, name, {
      configurable: true,
      enumerable: false,
      get(this: Model) {
        return this[VALUES].get(name);
      },
      set(this: Model, value: unknown) {
        this.setFieldValue(name, value);
      },
    });
  }
  const columns = Object.values(fields).flatMap((field) => field.columns());
  const names = new Set<string>();
  for (const column of columns) {
    if (column.name === 'id' || names.has(column.name)) {
      throw new TypeError(`${model.name}: two fields would keep a column named '${column.name}'; rename one of them.`);
    }
    names.add(column.name);
  }
  Object.defineProperty(model, PREPARED, { value: Object.freeze({ name: model.tableName, columns }) satisfies TableSchema });
  modelRegistry.set(model.tableName, model as ModelClass);
}

/** Makes a model known to this process (its table in modelRegistry) before any instance is made. */
export function registerModel(model: typeof Model): void {
  prepare(model);
}

const managers = new WeakMap<typeof Model, Manager<Model>>();

export class Model {
  /** The fields of the model; subclasses define their own. */
  static fields: Record<string, Field<any>> = {};
  /** The table name in the database; the class name unless set. */
  static table?: string;

  /** The row's key, given by the database on the first save. */
  id: number | null = null;
  private readonly [VALUES] = new Map<string, unknown>();

  constructor(data: Record<string, unknown> = {}) {
    const model = this.constructor as typeof Model;
    prepare(model);
    for (const key of Object.keys(data)) {
      if (key !== 'id' && !(key in model.fields)) {
        throw new TypeError(`${model.name}() got an unexpected field '${key}' (fields: ${Object.keys(model.fields).join(', ') || 'none'}).`);
      }
    }
    if (data.id !== undefined && data.id !== null) this.id = Number(data.id);
    for (const [name, field] of Object.entries(model.fields)) {
      this[VALUES].set(name, name in data ? field.assign(data[name], this) : field.initialValue(this));
    }
  }

  /** The file fields (FileField, ImageField) of the model, with their names. */
  static fileFields(): [string, FileField][] {
    return Object.entries(this.fields).filter((entry): entry is [string, FileField] => entry[1].holdsFile);
  }

  static get tableName(): string {
    return this.table ?? this.name;
  }

  /** The table and its columns, as the database layer is told them. */
  static get schema(): TableSchema {
    prepare(this);
    return (this as unknown as Record<typeof PREPARED, TableSchema>)[PREPARED];
  }

  /** The manager: Profile.objects.create(), .all(), .get(), .filter(), .first(), .last(), .count(). */
  static get objects(): Manager<any> {
    prepare(this);
    let manager = managers.get(this);
    if (!manager) {
      manager = new Manager(this as ModelClass);
      managers.set(this, manager);
    }
    return manager;
  }

  /** An instance for a row read from the database. */
  static fromRow<M extends Model>(this: new (data?: Record<string, unknown>) => M, row: Row): M {
    const instance = new this();
    const model = this as unknown as typeof Model;
    instance.id = row.id;
    for (const [name, field] of Object.entries(model.fields)) {
      try {
        instance[VALUES].set(name, field.fromColumns(row, instance));
      } catch (error) {
        // A value edited by hand (or by another program): say which row of which database, not only what is wrong.
        const database = settings.DATABASE;
        const problem = error instanceof Error ? error.message : String(error);
        throw new DatabaseError(database, `Row ${row.id} of table "${model.tableName}" in ${database} cannot be loaded: ${problem}`, { cause: error });
      }
    }
    rememberRowFiles(instance);
    return instance;
  }

  private get model(): typeof Model {
    return this.constructor as typeof Model;
  }

  /** Assigns through the field's rules (the property setters call this). */
  setFieldValue(name: string, value: unknown): void {
    const field = this.model.fields[name];
    if (!field) throw new TypeError(`${this.model.name} has no field '${name}'.`);
    const cleaned = field.assign(value, this);
    this[VALUES].set(name, cleaned);
    field.valueAssigned(this, cleaned);
  }

  /** Puts a value in place as it is (a field's own value object, already checked). */
  replaceValue(name: string, value: unknown): void {
    this[VALUES].set(name, value);
  }

  /** The row's column values. */
  toRow(): Record<string, unknown> {
    const row: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(this.model.fields)) Object.assign(row, field.toColumns(this[VALUES].get(name)));
    return row;
  }

  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { id: this.id };
    for (const name of Object.keys(this.model.fields)) json[name] = this[VALUES].get(name);
    return json;
  }

  /** Django's full_clean(): every field's checks; throws ValidationError naming the field. */
  fullClean(): void {
    for (const [name, field] of Object.entries(this.model.fields)) field.validate(this[VALUES].get(name));
  }

  /**
   * Runs the fields' preSave() hooks (a file field stores the content assigned to it), then writes the row.
   * If anything fails, what the hooks did is undone (stored files deleted) and no row is written or changed.
   */
  async save(): Promise<this> {
    const database = await activeDatabase();
    const fields = Object.values(this.model.fields);
    const rowSave = new RowSave(database, this.model.tableName);
    try {
      for (const field of fields) await field.preSave(this, rowSave);
      this.id = await database.saveRow(this.model.schema, this.id, this.toRow(), rowSave.files.entries);
      rowSave.files.closedByRow();
    } catch (error) {
      await rowSave.failed();
      throw error;
    }
    for (const field of fields) await field.postSave(this);
    await cleanUpReplacedFiles(this, false);
    return this;
  }

  /** Deletes the row (not the files: Django leaves them, as other rows may still refer to them). */
  async delete(): Promise<void> {
    if (this.id === null) throw new ValidationError(`${this.model.name} object can't be deleted because its id is null.`);
    await this.model.objects.filter({ id: this.id }).delete();
    this.id = null;
    await cleanUpReplacedFiles(this, true);
  }

  /** Reloads the fields from the row. */
  async refreshFromDb(): Promise<this> {
    if (this.id === null) throw new Error(`${this.model.name} has no row yet: save it first.`);
    const fresh = await this.model.objects.get(this.id);
    for (const [name, value] of fresh[VALUES]) {
      if (value !== null && typeof value === 'object' && 'instance' in value) (value as { instance: Model }).instance = this;
      this[VALUES].set(name, value);
    }
    return this;
  }

  /** `Profile { id: 1, … }` on one line, or one field a line when that is longer than breakLength (a narrow terminal). */
  [inspect.custom](depth: number, options: { stylize: (text: string, style: string) => string; breakLength?: number }, look: typeof inspect): string {
    const breakLength = options.breakLength ?? Infinity;
    // A field's value is shown two columns in, so it has two fewer.
    const inner = { ...options, depth: depth - 1, breakLength: breakLength - 2 };
    const parts = [`id: ${this.id ?? 'null'}`];
    for (const [name, value] of this[VALUES]) parts.push(`${name}: ${look(value, inner)}`);
    const oneLine = `${this.model.name} { ${parts.join(', ')} }`;
    if (oneLine.length <= breakLength && !oneLine.includes('\n')) return oneLine;
    return `${this.model.name} {\n${parts.map((part) => `  ${part.replaceAll('\n', '\n  ')},`).join('\n')}\n}`;
  }
}
