/**
 * Model: a class whose static `fields` describe a row. Instances read and write their fields as plain
 * properties; save() stores staged files and writes the row, all or nothing.
 */
import { inspect } from 'node:util';
import { DatabaseError, ValidationError } from '../errors.ts';
import type { Row } from '../db/Database.ts';
import { connection } from './connection.ts';
import { Field } from './fields.ts';
import { FieldFile } from './FieldFile.ts';
import { RowFiles } from './rowFiles.ts';
import { FileField, ImageField } from './FileField.ts';
import { Manager } from './Manager.ts';
import { cleanUpReplacedFiles, rememberRowFiles } from './cleanup.ts';

const VALUES = Symbol('filefield.values');
const PREPARED = Symbol('filefield.prepared');

export type ModelClass<M extends Model = Model> = (new (data?: Record<string, unknown>) => M) & typeof Model;

/** Whether a module's export is a model (a subclass of this copy's Model). */
export function isModelClass(value: unknown): value is ModelClass {
  return typeof value === 'function' && value.prototype instanceof Model;
}

/** Every prepared model, by table name, so that journal sweeps and the shell can find them. */
export const modelRegistry = new Map<string, ModelClass>();

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
  Object.defineProperty(model, PREPARED, { value: true });
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
    // A File given for an image field is measured when it is stored; dimension fields follow then.
  }

  /** The file fields (FileField, ImageField) of the model, with their names. */
  static fileFields(): [string, FileField][] {
    return Object.entries(this.fields).filter((entry): entry is [string, FileField] => entry[1] instanceof FileField);
  }

  static get tableName(): string {
    return this.table ?? this.name;
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
      if (!(name in row)) continue;
      try {
        instance[VALUES].set(name, field.fromRow(row[name], instance));
      } catch (error) {
        // A value edited by hand (or by another program): say which row of which file, not only what is wrong.
        const file = connection().database.file;
        const problem = error instanceof Error ? error.message : String(error);
        throw new DatabaseError(file, `Row ${row.id} of table "${model.tableName}" in ${file} cannot be loaded: ${problem}`, { cause: error });
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
    if (cleaned instanceof FieldFile) this.fieldFileChanged(name, cleaned);
  }

  /** Puts a FieldFile in place (FieldFile.save uses it for a FieldFile taken from elsewhere). */
  setFieldFile(name: string, fieldFile: FieldFile): void {
    this[VALUES].set(name, fieldFile);
  }

  /** Keeps an ImageField's width and height fields equal to what is known of its file. */
  fieldFileChanged(name: string, fieldFile: FieldFile): void {
    const field = this.model.fields[name];
    if (!(field instanceof ImageField)) return;
    const { width, height } = fieldFile.name ? fieldFile.metadata : { width: undefined, height: undefined };
    if (field.widthField) this[VALUES].set(field.widthField, width ?? null);
    if (field.heightField) this[VALUES].set(field.heightField, height ?? null);
  }

  /** The row as stored: JSON values only. */
  toRow(): Record<string, unknown> {
    const row: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(this.model.fields)) row[name] = field.toRow(this[VALUES].get(name));
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
   * Stores files assigned since the last save, then writes the row. If anything fails, the files this
   * save stored are deleted again and no row is written or changed.
   */
  async save(): Promise<this> {
    const { database, journal } = connection();
    await connection().sweepAbandonedUploads();
    const undo: (() => Promise<void>)[] = [];
    const rowFiles = new RowFiles(journal, this.model.tableName);
    const fieldFiles = this.model.fileFields().map(([name]) => this[VALUES].get(name) as FieldFile);
    try {
      for (const [name, field] of this.model.fileFields()) {
        const fieldFile = this[VALUES].get(name) as FieldFile;
        const restore = fieldFile.snapshot();
        let stored: string | null = null;
        const hooks = rowFiles.hooks(name, (storedName) => {
          stored = storedName;
        });
        // In place before the store starts: a failure after the bytes are stored (journal, size) must remove them too.
        undo.push(async () => {
          restore();
          if (stored !== null) await field.storage.delete(stored);
        });
        // A name assigned by hand is a reference only (as in Django): nothing is read, its metadata stays unknown.
        if (!(await fieldFile.commitPending(hooks))) undo.pop();
      }
      const row = this.toRow();
      this.id = await database.write((data) => {
        const table = database.table(data, this.model.tableName);
        const index = this.id === null ? -1 : table.findIndex((existing) => existing.id === this.id);
        const id = this.id ?? database.nextId(data, this.model.tableName);
        if (index === -1) {
          table.push({ id, ...row });
          if (id > (data.sequences[this.model.tableName] ?? 0)) data.sequences[this.model.tableName] = id;
        } else {
          table[index] = { id, ...row };
        }
        return id;
      });
    } catch (error) {
      for (const step of undo.reverse()) await step().catch(() => undefined);
      throw error;
    } finally {
      await rowFiles.close();
    }
    // Files stored earlier with `save: false` have their row now.
    for (const fieldFile of fieldFiles) await fieldFile.rowWritten();
    await cleanUpReplacedFiles(this, false);
    return this;
  }

  /** Deletes the row (not the files: Django leaves them, as other rows may still refer to them). */
  async delete(): Promise<void> {
    if (this.id === null) throw new ValidationError(`${this.model.name} object can't be deleted because its id is null.`);
    const id = this.id;
    const { database } = connection();
    await database.write((data) => {
      const table = database.table(data, this.model.tableName);
      const index = table.findIndex((row) => row.id === id);
      if (index !== -1) table.splice(index, 1);
    });
    this.id = null;
    await cleanUpReplacedFiles(this, true);
  }

  /** Reloads the fields from the row. */
  async refreshFromDb(): Promise<this> {
    if (this.id === null) throw new Error(`${this.model.name} has no row yet: save it first.`);
    const fresh = await this.model.objects.get(this.id);
    for (const [name, value] of fresh[VALUES]) {
      if (value instanceof FieldFile) value.instance = this;
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
