/**
 * `filefield check` on a settings file with working and broken storages, against a real S3 server.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { checkStorages, formatCheckReport, registerCheckCommand, type StorageCheck } from '../src/cli/check.ts';
import { configure } from '../src/index.ts';
import { S3RVER_CREDENTIALS, startS3rver, type RunningS3rver } from './support/s3rver.ts';

let server: RunningS3rver;
let project: string;
let settingsFile: string;
let closedPort: number;
const savedEnvironment = { ...process.env };

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Runs `filefield check --settings <file>` as the CLI registers it: what it printed, and the exit code it set (restored after). */
async function runCheckCommand(file: string): Promise<{ printed: string; exitCode: typeof process.exitCode }> {
  let printed = '';
  const program = new Command('filefield').exitOverride();
  registerCheckCommand(program, (text) => {
    printed += text;
  });
  const previousExitCode = process.exitCode;
  try {
    await program.parseAsync(['check', '--settings', file], { from: 'user' });
    return { printed, exitCode: process.exitCode };
  } finally {
    process.exitCode = previousExitCode;
  }
}

before(async () => {
  server = await startS3rver();
  closedPort = await freePort();
  project = mkdtempSync(join(tmpdir(), 'filefield-check-'));
  // No credentials anywhere but in OPTIONS: the environment, the AWS files and the instance metadata are shut.
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete process.env[name];
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(project, 'no-credentials');
  process.env.AWS_CONFIG_FILE = join(project, 'no-config');
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const s3 = (options: Record<string, unknown>) => ({
    BACKEND: 's3',
    OPTIONS: { bucket: server.bucket, endpoint: server.endpoint, ...S3RVER_CREDENTIALS, maxAttempts: 1, ...options },
  });
  const settings = {
    SECRET_KEY: 'check-test-secret-key-0123456789',
    MEDIA_ROOT: 'media',
    STORAGES: {
      default: s3({ location: 'media' }),
      local: { BACKEND: 'filesystem' },
      missingBucket: s3({ bucket: 'no-such-bucket' }),
      unreachable: s3({ endpoint: `http://127.0.0.1:${closedPort}`, connectTimeout: 1000 }),
      wrongKey: s3({ accessKeyId: 'NOT-A-KEY', secretAccessKey: 'x' }),
      noCredentials: { BACKEND: 's3', OPTIONS: { bucket: server.bucket, endpoint: server.endpoint, maxAttempts: 1 } },
      badOptions: { BACKEND: 's3', OPTIONS: { bucket_name: 'typo' } },
    },
  };
  settingsFile = join(project, 'filefield.config.ts');
  writeFileSync(settingsFile, `export default ${JSON.stringify(settings, null, 2)};\n`);
});

after(async () => {
  process.env = savedEnvironment;
  await configure({});
  await server?.stop();
  rmSync(project, { recursive: true, force: true });
});

function byAlias(results: StorageCheck[], alias: string): StorageCheck {
  const result = results.find((candidate) => candidate.alias === alias);
  assert.ok(result, `no result for ${alias}`);
  return result;
}

function step(result: StorageCheck, name: string) {
  const found = result.steps.find((candidate) => candidate.step === name);
  assert.ok(found, `no step ${name} for ${result.alias}`);
  return found;
}

test('checkStorages: working storages pass every step, broken ones say why in plain words', async () => {
  const results = await checkStorages({ settingsFile });
  assert.deepEqual(results.map((result) => result.alias), ['default', 'local', 'missingBucket', 'unreachable', 'wrongKey', 'noCredentials', 'badOptions']);

  for (const alias of ['default', 'local']) {
    const result = byAlias(results, alias);
    assert.equal(result.ok, true, JSON.stringify(result));
    // The local disk also gets its temporary files of killed saves removed.
    const cleanUp = alias === 'local' ? [['clean up', true]] : [];
    assert.deepEqual(result.steps.map(({ step: name, ok }) => [name, ok]), [['open', true], ['write', true], ['read back', true], ['delete', true], ...cleanUp]);
  }
  assert.match(step(byAlias(results, 'default'), 'open').detail!, /^S3Storage bucket=test-bucket location=media endpoint=http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(step(byAlias(results, 'default'), 'write').detail!, /^wrote '\.filefield-check-[0-9a-f]{12}' \(\d+ bytes\)$/);

  const missingBucket = byAlias(results, 'missingBucket');
  assert.equal(missingBucket.ok, false);
  assert.equal(step(missingBucket, 'open').ok, true);
  assert.equal(step(missingBucket, 'write').detail, "the bucket 'no-such-bucket' does not exist (NoSuchBucket)");
  assert.deepEqual(
    missingBucket.steps.slice(2).map(({ step: name, skipped, detail }) => [name, skipped, detail]),
    [['read back', true, 'not tried: nothing was written'], ['delete', true, 'not tried: nothing was written']],
  );

  assert.equal(
    step(byAlias(results, 'unreachable'), 'write').detail,
    `nothing answers at http://127.0.0.1:${closedPort}: is the server running, and is the endpoint right? (ECONNREFUSED)`,
  );
  assert.match(step(byAlias(results, 'wrongKey'), 'write').detail!, /the server does not know the access key 'NOT-A-KEY'.*\(InvalidAccessKeyId\)$/);
  assert.match(step(byAlias(results, 'noCredentials'), 'write').detail!, /^no credentials were found: set accessKeyId and secretAccessKey in OPTIONS.*\(CredentialsProviderError\)$/);

  const badOptions = byAlias(results, 'badOptions');
  assert.equal(step(badOptions, 'open').ok, false);
  assert.match(step(badOptions, 'open').detail!, /S3Storage option bucket_name is not an S3Storage option/);
  assert.equal(step(badOptions, 'write').skipped, true);
});

test('the probe files are deleted', async () => {
  await checkStorages({ settingsFile });
  const client = new S3Client({
    region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS },
  });
  const listing = await client.send(new ListObjectsV2Command({ Bucket: server.bucket }));
  assert.deepEqual((listing.Contents ?? []).filter(({ Key }) => Key?.includes('.filefield-check-')), []);
  assert.deepEqual(readdirSync(join(project, 'media')).filter((name) => name.startsWith('.filefield-check-')), []);
});

test('the check command prints a readable report and sets the exit code', async () => {
  const { printed, exitCode } = await runCheckCommand(settingsFile);
  assert.equal(exitCode, 1);
  assert.match(printed, new RegExp(`^Settings: ${settingsFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
  assert.ok(printed.includes(`\ndefault: ok\n  ok   open       S3Storage bucket=test-bucket location=media endpoint=${server.endpoint}\n`), printed);
  assert.ok(printed.includes(
    "\n  FAIL write      the bucket 'no-such-bucket' does not exist (NoSuchBucket)\n  --   read back  not tried: nothing was written\n",
  ), printed);
  assert.match(printed, /\n5 of 7 storages failed\.\n$/);
});

test('the command reports settings that cannot be loaded', async () => {
  const { printed, exitCode } = await runCheckCommand(join(project, 'missing.config.ts'));
  assert.equal(exitCode, 1);
  assert.match(printed, /^filefield check: The settings file .*missing\.config\.ts does not exist\.\n$/);
});

test('formatCheckReport: all good, and nothing configured', () => {
  assert.match(formatCheckReport([{ alias: 'default', ok: true, steps: [{ step: 'open', ok: true }] }]), /The storage works\.\n$/);
  assert.equal(formatCheckReport([]), 'No storages are configured (STORAGES is empty).\n');
});
