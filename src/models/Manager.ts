/**
 * Manager: the table-level entry to a model's rows (Django's Model.objects). Each query method starts a
 * QuerySet.
 */
import type { Model, ModelClass } from './Model.ts';
import { QuerySet, type Query } from './QuerySet.ts';

export { DoesNotExist, MultipleObjectsReturned, type Query } from './QuerySet.ts';

export class Manager<M extends Model> {
  constructor(readonly model: ModelClass<M>) {}

  /** Makes and saves an instance. */
  async create(data: Record<string, unknown> = {}): Promise<M> {
    const instance = new this.model(data) as M;
    await instance.save();
    return instance;
  }

  all(): QuerySet<M> {
    return new QuerySet(this.model);
  }

  filter(query: Query<M>): QuerySet<M> {
    return this.all().filter(query);
  }

  exclude(query: Query<M>): QuerySet<M> {
    return this.all().exclude(query);
  }

  orderBy(...names: string[]): QuerySet<M> {
    return this.all().orderBy(...names);
  }

  /** The one instance with this id (or matching this query); DoesNotExist or MultipleObjectsReturned otherwise. */
  get(query: number | string | Query<M>): Promise<M> {
    return this.all().get(query);
  }

  /** The instance with the lowest id, or null. */
  first(): Promise<M | null> {
    return this.all().first();
  }

  /** The instance with the highest id, or null. */
  last(): Promise<M | null> {
    return this.all().last();
  }

  count(): Promise<number> {
    return this.all().count();
  }

  exists(): Promise<boolean> {
    return this.all().exists();
  }
}
