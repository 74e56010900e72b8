// QuerySets on every engine: lazy, chainable and awaitable, with Django's lookups (run in SQL on the SQL
// engines), ordering, slicing, update() and delete(), and `for await` streaming.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CharField, ContentFile, DoesNotExist, FileField, IntegerField, Model, MultipleObjectsReturned, QuerySet, type FieldFile } from '../src/index.ts';
import { sqlChannel, type SqlStatementEvent } from '../src/db/sqlChannel.ts';
import { activeDatabase } from '../src/models/activeDatabase.ts';
import { forEachEngine, projectPerTest } from './support/fixtures.ts';

class Member extends Model {
  static override fields = {
    name: new CharField({ maxLength: 50 }),
    nickname: new CharField({ null: true }),
    age: new IntegerField(),
    avatar: new FileField({ uploadTo: 'avatars' }),
  };

  declare name: string;
  declare nickname: string | null;
  declare age: number | null;
  declare avatar: FieldFile;
}

const names = (members: Member[]): string[] => members.map((member) => member.name);

forEachEngine((engine) => {
  projectPerTest('filefield-queries-', engine);

  async function seed(): Promise<void> {
    await Member.objects.create({ name: 'Ann', nickname: 'annie', age: 31, avatar: new ContentFile('a', 'ann.png') });
    await Member.objects.create({ name: 'bob', age: 25 });
    await Member.objects.create({ name: 'Cara_%', nickname: null, age: null, avatar: new ContentFile('c', 'cara.txt') });
    await Member.objects.create({ name: 'dan*?[', nickname: 'Danny', age: 40, avatar: new ContentFile('dd', 'dan.png') });
  }

  test('each lookup, as Django spells it', async () => {
    await seed();
    const cases: [Record<string, unknown>, string[]][] = [
      [{ name: 'Ann' }, ['Ann']],
      [{ name: 'ann' }, []],
      [{ name__exact: 'bob' }, ['bob']],
      [{ name__iexact: 'ANN' }, ['Ann']],
      [{ name__iexact: 'cara_%' }, ['Cara_%']],
      [{ name__iexact: 'cara__' }, []], // `_` and `%` are no wildcards
      [{ id__in: [1, 3, 99] }, ['Ann', 'Cara_%']],
      [{ id__in: [] }, []],
      [{ id__gt: 2 }, ['Cara_%', 'dan*?[']],
      [{ id__gte: 2, id__lt: 4 }, ['bob', 'Cara_%']],
      [{ age__lte: 31 }, ['Ann', 'bob']],
      [{ age__gt: 0 }, ['Ann', 'bob', 'dan*?[']],
      [{ name__contains: 'a' }, ['Cara_%', 'dan*?[']],
      [{ name__contains: '_%' }, ['Cara_%']],
      [{ name__contains: '*?[' }, ['dan*?[']],
      [{ name__contains: '%' }, ['Cara_%']],
      [{ name__icontains: 'A' }, ['Ann', 'Cara_%', 'dan*?[']],
      [{ name__startswith: 'b' }, ['bob']],
      [{ name__startswith: 'B' }, []],
      [{ name__endswith: 'n' }, ['Ann']],
      [{ name__endswith: '*?[' }, ['dan*?[']],
      [{ nickname__isnull: true }, ['bob', 'Cara_%']],
      [{ nickname__isnull: false }, ['Ann', 'dan*?[']],
      [{ nickname: null }, ['bob', 'Cara_%']],
      [{ age__isnull: true }, ['Cara_%']],
      [{ avatar: '' }, ['bob']],
      [{ avatar: null }, ['bob']],
      [{ avatar__startswith: 'avatars/' }, ['Ann', 'Cara_%', 'dan*?[']],
      [{ avatar__endswith: '.png' }, ['Ann', 'dan*?[']],
      [{ avatar_size__gte: 1 }, ['Ann', 'Cara_%', 'dan*?[']],
      [{ avatar_size: 2 }, ['dan*?[']],
      [{ avatar_content_type__startswith: 'text/' }, ['Ann', 'Cara_%', 'dan*?[']], // sniffed from the bytes, not the name
      [{ avatar_content_type: 'image/png' }, []],
      [{ pk: 2 }, ['bob']],
      [{ id: '2' }, ['bob']],
    ];
    for (const [query, expected] of cases) {
      assert.deepEqual(names(await Member.objects.filter(query)), expected, `filter(${JSON.stringify(query)})`);
    }
  });

  test('exclude() keeps the rows whose column is null (as Django does), and chains with filter()', async () => {
    await seed();
    assert.deepEqual(names(await Member.objects.exclude({ age__gt: 30 })), ['bob', 'Cara_%']);
    assert.deepEqual(names(await Member.objects.exclude({ nickname: 'annie' })), ['bob', 'Cara_%', 'dan*?[']);
    assert.deepEqual(names(await Member.objects.filter({ age__isnull: false }).exclude({ name: 'bob' }).filter({ id__lt: 4 })), ['Ann']);
    assert.deepEqual(names(await Member.objects.exclude({ name__startswith: 'd', age: 40 })), ['Ann', 'bob', 'Cara_%']);
  });

  test('orderBy, limit, offset, first, last, count, exists, get', async () => {
    await seed();
    assert.deepEqual(names(await Member.objects.orderBy('-id')), ['dan*?[', 'Cara_%', 'bob', 'Ann']);
    assert.deepEqual(names(await Member.objects.orderBy('age', 'name')), ['Cara_%', 'bob', 'Ann', 'dan*?['], 'nulls first');
    assert.deepEqual(names(await Member.objects.orderBy('-age')), ['dan*?[', 'Ann', 'bob', 'Cara_%'], 'nulls last');
    assert.deepEqual(names(await Member.objects.all().limit(2)), ['Ann', 'bob']);
    assert.deepEqual(names(await Member.objects.all().offset(1).limit(2)), ['bob', 'Cara_%']);
    assert.deepEqual(names(await Member.objects.all().offset(3)), ['dan*?[']);
    assert.deepEqual(names(await Member.objects.all().limit(3).offset(2)), ['Cara_%']);
    assert.equal((await Member.objects.filter({ age__gt: 0 }).first())?.name, 'Ann');
    assert.equal((await Member.objects.filter({ age__gt: 0 }).last())?.name, 'dan*?[');
    assert.equal((await Member.objects.orderBy('-age').last())?.name, 'Cara_%');
    assert.equal(await Member.objects.filter({ name: 'nobody' }).first(), null);
    assert.equal(await Member.objects.filter({ age__gt: 0 }).count(), 3);
    assert.equal(await Member.objects.all().limit(2).count(), 2);
    assert.equal(await Member.objects.filter({ name: 'bob' }).exists(), true);
    assert.equal(await Member.objects.filter({ name: 'nobody' }).exists(), false);
    assert.equal((await Member.objects.filter({ age__gt: 30 }).get({ nickname__isnull: false, age__lt: 35 })).name, 'Ann');
    await assert.rejects(Member.objects.filter({ age__gt: 0 }).get(), MultipleObjectsReturned);
    await assert.rejects(Member.objects.get({ name: 'nobody' }), DoesNotExist);
    assert.throws(() => Member.objects.all().limit(1).filter({ name: 'x' }), /once a slice/);
  });

  test('a query runs only when awaited, iterated or counted; each await runs it again', async () => {
    const statements: SqlStatementEvent[] = [];
    const listen = (event: unknown) => statements.push(event as SqlStatementEvent);
    await seed();
    sqlChannel.subscribe(listen);
    try {
      const query = Member.objects.filter({ age__gt: 0 }).orderBy('-age');
      assert.ok(query instanceof QuerySet);
      assert.equal(statements.length, 0, 'building a query runs nothing');
      assert.deepEqual(names(await query), ['dan*?[', 'Ann', 'bob']);
      const afterFirst = statements.length;
      if (engine !== 'json') {
        assert.equal(afterFirst, 1, 'one statement');
        assert.match(statements[0]!.sql, /where .*"age".* > .* order by "age" desc/i, 'the lookup and the order run in the database');
        assert.ok(statements[0]!.durationMs >= 0);
      }
      await Member.objects.create({ name: 'eve', age: 99 });
      assert.deepEqual(names(await query), ['eve', 'dan*?[', 'Ann', 'bob'], 'a second await sees the new row');
    } finally {
      sqlChannel.unsubscribe(listen);
    }
  });

  test('for await streams the rows in order, past one page', async () => {
    for (let index = 0; index < 1203; index++) await Member.objects.create({ name: `m${index}`, age: index % 7 });
    let count = 0;
    let previous = 0;
    for await (const member of Member.objects.filter({ age: 3 })) {
      assert.ok(member.id! > previous);
      previous = member.id!;
      count++;
    }
    assert.equal(count, 172);
    const sliced: string[] = [];
    for await (const member of Member.objects.all().offset(500).limit(3)) sliced.push(member.name);
    assert.deepEqual(sliced, ['m500', 'm501', 'm502']);
  });

  test('update() and delete() change the matching rows in one statement, and say how many', async () => {
    await seed();
    assert.equal(await Member.objects.filter({ age__lt: 35 }).update({ nickname: 'young' }), 2);
    assert.deepEqual(names(await Member.objects.filter({ nickname: 'young' })), ['Ann', 'bob']);
    assert.equal(await Member.objects.filter({ name: 'bob' }).update({ avatar: 'avatars/by-hand.png' }), 1);
    const bob = await Member.objects.get({ name: 'bob' });
    assert.equal(bob.avatar.name, 'avatars/by-hand.png');
    assert.throws(() => bob.avatar.size, /not known yet/, 'a name assigned by hand records the reference only');
    assert.equal(await Member.objects.exclude({ nickname: 'young' }).delete(), 2);
    assert.deepEqual(names(await Member.objects.all()), ['Ann', 'bob']);
    assert.equal(await Member.objects.filter((member: Member) => member.name === 'Ann').delete(), 1, 'a predicate picks the rows first');
    assert.deepEqual(names(await Member.objects.all()), ['bob']);
    await assert.rejects(Member.objects.all().update({ nope: 1 }), /no field 'nope'/);
  });

  test('the database tells which file names rows refer to (for cleanup), a page at a time', async () => {
    const database = await activeDatabase();
    const rows = Array.from({ length: 1201 }, (_, index) => ({ id: index + 1, ...new Member({ name: `m${index}` }).toRow(), avatar: index % 2 ? `avatars/${String(index).padStart(4, '0')}.png` : '' }));
    await database.loadRows(Member.schema, [...rows, { ...rows[1]!, id: 1202, name: 'twin' }]);
    const names: string[] = [];
    for await (const name of database.allReferencedNames(Member.schema, 'avatar')) names.push(name);
    assert.equal(names.length, 600, 'each name once, the empty ones left out');
    assert.deepEqual(names.slice(0, 2), ['avatars/0001.png', 'avatars/0003.png']);
    assert.deepEqual(names, [...names].sort());
    assert.deepEqual(await database.referencedNames(Member.schema, 'avatar', ['avatars/0001.png', 'avatars/0002.png', 'nope']), new Set(['avatars/0001.png']));
  });

  test('a bad lookup rejects when the query runs, naming the choices', async () => {
    await assert.rejects(Member.objects.filter({ nope: 1 }), { name: 'TypeError', message: /Cannot resolve keyword 'nope' into field of Member\. Choices are: id, name, nickname, age, avatar\./ });
    await assert.rejects(Member.objects.filter({ name__regex: 'x' }), /Unsupported lookup 'regex'/);
    await assert.rejects(Member.objects.filter({ id__in: 3 }), /takes a list/);
    assert.throws(() => Member.objects.orderBy('nope'), /Cannot resolve keyword 'nope'/);
  });
});

forEachEngine((engine) => {
  projectPerTest('filefield-transactions-', engine);

  test('rows written inside the database\'s transaction() join it: a failure rolls them back, success keeps them (SQL engines)', { skip: engine === 'json' && 'a JSON write is atomic on its own' }, async () => {
    const database = await activeDatabase();
    assert.equal(await Member.objects.count(), 0); // the throwaway database makes its table here, outside the transaction
    await assert.rejects(database.transaction(async () => {
      await Member.objects.create({ name: 'kept only if all goes well', age: 1 });
      // Nested: a savepoint inside the outer transaction.
      await database.transaction(async () => Member.objects.create({ name: 'inner', age: 2 }));
      throw new Error('changed my mind');
    }), /changed my mind/);
    assert.equal(await Member.objects.count(), 0);
    await database.transaction(async () => {
      await Member.objects.create({ name: 'one', age: 1 });
      await Member.objects.create({ name: 'two', age: 2 });
    });
    assert.deepEqual(names(await Member.objects.orderBy('id')), ['one', 'two']);
  });
});
