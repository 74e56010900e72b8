/**
 * The record of saves in flight on the SQL engines: a table in the same database as the rows, so that
 * every process sharing the database (on any machine) sees the saves the others left when they died.
 * An entry is committed once the storage has the bytes and is about to publish them under a name (before
 * that, a dead save left nothing under any name: see UploadJournal.sweep), on a connection of its own (it
 * must outlive a rolled-back row), and deleted in the transaction that writes the row. One insert a save
 * (and one update when the storage returns another name than it announced), besides the row's transaction.
 */
import { randomUUID } from 'node:crypto';
import type { ContentDigest } from '../../files/digest.ts';
import type { InFlightUpload, InFlightUploads, OrphanResolver } from '../engine.ts';
import { orphanOf } from '../journal.ts';
import type { TableSchema } from '../schema.ts';
import type { SqlExecutor } from './executor.ts';
import type { Statements } from './statements.ts';

export const IN_FLIGHT_TABLE: TableSchema = {
  name: 'filefield_uploads',
  columns: [
    // No indexes: the table holds only the saves in flight, and each index would cost every save a page write.
    { name: 'token', type: 'text', nullable: false },
    { name: 'owner', type: 'text', nullable: false },
    { name: 'started', type: 'integer', nullable: false },
    { name: 'model', type: 'text', nullable: false },
    { name: 'field', type: 'text', nullable: false },
    { name: 'requested_name', type: 'text', nullable: false },
    { name: 'publishing_name', type: 'text', nullable: true },
    { name: 'publishing_size', type: 'integer', nullable: true },
    { name: 'publishing_sha256', type: 'text', nullable: true },
    { name: 'stored_name', type: 'text', nullable: true },
  ],
};

interface StoredEntry extends InFlightUpload {
  owner: string;
}

function entryOf(row: Record<string, unknown>): StoredEntry {
  return {
    token: String(row.token),
    owner: String(row.owner),
    started: Number(row.started),
    model: String(row.model),
    field: String(row.field),
    requestedName: String(row.requested_name),
    publishing: typeof row.publishing_name === 'string'
      ? { name: row.publishing_name, size: Number(row.publishing_size), sha256: String(row.publishing_sha256) }
      : undefined,
    storedName: row.stored_name === null || row.stored_name === undefined ? undefined : String(row.stored_name),
  };
}

const byToken = (token: string) => ({ kind: 'lookup' as const, column: 'token', lookup: 'exact' as const, value: token });

export class SqlInFlightUploads implements InFlightUploads {
  private readonly keptOnCleanExit = new Set<string>();
  /** The entries of this process that have a row in the table. */
  private readonly recorded = new Set<string>();
  private exitHook: (() => void) | null = null;

  constructor(
    private readonly executor: SqlExecutor,
    private readonly statements: Statements,
    private readonly ready: () => Promise<void>,
  ) {}

  private async run(statement: { sql: string; parameters: readonly unknown[] }, detached = true) {
    return this.executor.query(statement.sql, statement.parameters, { detached });
  }

  async begin(model: string, field: string, requestedName: string): Promise<InFlightUpload> {
    await this.ready();
    return { token: randomUUID(), started: Date.now(), model, field, requestedName };
  }

  private async insert(entry: InFlightUpload): Promise<void> {
    const { publishing } = entry;
    await this.run(this.statements.insert(IN_FLIGHT_TABLE, {
      token: entry.token,
      owner: await this.executor.driver.owner(),
      started: entry.started,
      model: entry.model,
      field: entry.field,
      requested_name: entry.requestedName,
      publishing_name: publishing?.name ?? null,
      publishing_size: publishing?.size ?? null,
      publishing_sha256: publishing?.sha256 ?? null,
      stored_name: entry.storedName ?? null,
    }));
    this.recorded.add(entry.token);
  }

  async recordPublishing(entry: InFlightUpload, name: string, digest: ContentDigest): Promise<void> {
    entry.publishing = { name, ...digest };
    if (!this.recorded.has(entry.token)) return this.insert(entry);
    // Published again under another name (the first was taken meanwhile): the last one counts.
    await this.run(this.statements.update(IN_FLIGHT_TABLE, byToken(entry.token), {
      publishing_name: name, publishing_size: digest.size, publishing_sha256: digest.sha256,
    }));
  }

  async recordStored(entry: InFlightUpload, storedName: string): Promise<void> {
    entry.storedName = storedName;
    // A storage that never announced what it publishes (a custom one): the stored name is all there is.
    if (!this.recorded.has(entry.token)) return this.insert(entry);
    if (entry.publishing?.name === storedName) return; // what the entry says already
    await this.run(this.statements.update(IN_FLIGHT_TABLE, byToken(entry.token), { stored_name: storedName }));
  }

  keepOnCleanExit(entry: InFlightUpload): void {
    this.keptOnCleanExit.add(entry.token);
    const querySync = this.executor.driver.querySync;
    if (this.exitHook || !querySync) return;
    // A clean exit settles these entries (a crash leaves them to the sweep): at 'exit', so only synchronously.
    this.exitHook = () => {
      if (this.keptOnCleanExit.size === 0) return;
      const tokens = [...this.keptOnCleanExit];
      const statement = this.statements.delete(IN_FLIGHT_TABLE, { kind: 'lookup', column: 'token', lookup: 'in', value: tokens });
      try {
        querySync(statement.sql, statement.parameters);
      } catch {
        // The database is gone already: the next sweep settles the entries (removing their files).
      }
    };
    process.once('exit', this.exitHook);
  }

  /** The statement that closes `entry` (run in the row's transaction), or null when it has no row in the table. */
  finishing(entry: InFlightUpload) {
    return this.recorded.has(entry.token) ? this.statements.delete(IN_FLIGHT_TABLE, byToken(entry.token)) : null;
  }

  /** The statement of finishing() was committed. */
  settled(entry: InFlightUpload): void {
    this.recorded.delete(entry.token);
    this.keptOnCleanExit.delete(entry.token);
  }

  async finish(entry: InFlightUpload): Promise<void> {
    const statement = this.finishing(entry);
    if (statement) await this.run(statement);
    this.settled(entry);
  }

  private async entries(): Promise<StoredEntry[]> {
    await this.ready();
    const { rows } = await this.run(this.statements.select(IN_FLIGHT_TABLE, { orderBy: [{ column: 'id', descending: false }] }), false);
    return rows.map(entryOf);
  }

  async namesInProgress(): Promise<Set<string>> {
    const names = new Set<string>();
    const alive = new Map<string, boolean>();
    for (const entry of await this.entries()) {
      if (!alive.has(entry.owner)) alive.set(entry.owner, await this.executor.driver.ownerIsAlive(entry.owner));
      if (!alive.get(entry.owner)) continue;
      names.add(entry.requestedName);
      if (entry.publishing !== undefined) names.add(entry.publishing.name);
      if (entry.storedName !== undefined) names.add(entry.storedName);
    }
    return names;
  }

  async sweep(resolver: OrphanResolver): Promise<number> {
    const entries = await this.entries();
    if (entries.length === 0) return 0;
    const mine = await this.executor.driver.owner();
    const alive = new Map<string, boolean>();
    let removed = 0;
    for (const entry of entries) {
      if (entry.owner === mine) continue;
      if (!alive.has(entry.owner)) alive.set(entry.owner, await this.executor.driver.ownerIsAlive(entry.owner));
      if (alive.get(entry.owner)) continue;
      // An entry that never reached 'publishing' left no file under any name (see UploadJournal.sweep).
      const target = orphanOf(entry);
      let settled = !target || (await resolver.isReferenced(entry, target.name));
      if (!settled && (await resolver.deleteOrphan(entry, target!.name, target!.expected))) {
        removed++;
        settled = true;
      }
      if (settled) await this.run(this.statements.delete(IN_FLIGHT_TABLE, byToken(entry.token)));
    }
    return removed;
  }
}
