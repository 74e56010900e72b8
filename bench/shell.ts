/**
 * Start-up cost of the CLI: wall time from spawning the process to its exit (or, for `serve`, to its
 * "listening" line), in fresh folders. `filefield shell -c 1` on the bundled example project is set beside
 * Django's `manage.py shell -c 1` on a project of the same shape (one app, the article's Profile), measured
 * in the same run, so the ratio does not depend on the machine. Run `npm run build` first (npm run bench does).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { profileShellStartup } from './profile.ts';

const CLI = fileURLToPath(new URL('../bin/filefield.js', import.meta.url));
/** Debian's python3 (python3-django); a pyenv python3 earlier in PATH lacks Django. */
const PYTHON = '/usr/bin/python3';
const RUNS = 10;

function wallTimeMs(command: string, args: string[], cwd: string): number {
  const started = performance.now();
  const result = spawnSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const elapsed = performance.now() - started;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}: ${result.stderr}`);
  return elapsed;
}

/** Time until `filefield serve` prints its address, then stops it. */
function serveStartMs(cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let listening: number | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (listening === undefined && output.includes('filefield serve: media and uploads at')) {
        listening = performance.now() - started;
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code) => {
      if (listening === undefined) reject(new Error(`filefield serve exited with ${code} before listening: ${output}`));
      else resolve(listening);
    });
  });
}

function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function summary(times: number[]): string {
  return `min ${Math.min(...times).toFixed(0)} ms, median ${median(times).toFixed(0)} ms`;
}

function measure(command: string, args: string[], cwd: string): number[] {
  wallTimeMs(command, args, cwd); // warm-up: the file system cache, Python's bytecode cache
  return Array.from({ length: RUNS }, () => wallTimeMs(command, args, cwd));
}

/** A Django project of the example's shape: one app with the article's Profile, SQLite, MEDIA_ROOT. */
function djangoProject(folder: string): void {
  mkdirSync(join(folder, 'profiles'), { recursive: true });
  writeFileSync(join(folder, 'manage.py'), [
    'import os, sys',
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_settings')",
    'from django.core.management import execute_from_command_line',
    'execute_from_command_line(sys.argv)',
    '',
  ].join('\n'));
  writeFileSync(join(folder, 'site_settings.py'), [
    "SECRET_KEY = 'bench'",
    "INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth', 'profiles']",
    "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': 'db.sqlite3'}}",
    "MEDIA_ROOT = 'media'",
    "MEDIA_URL = '/media/'",
    "DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'",
    '',
  ].join('\n'));
  writeFileSync(join(folder, 'profiles/__init__.py'), '');
  writeFileSync(join(folder, 'profiles/models.py'), [
    'import os, uuid',
    'from django.db import models',
    '',
    'def profile_pic_path(instance, filename):',
    "    return f'profile_pics/{uuid.uuid4()}{os.path.splitext(filename)[1].lower()}'",
    '',
    'class Profile(models.Model):',
    '    name = models.CharField(max_length=100, blank=True)',
    '    picture = models.ImageField(upload_to=profile_pic_path)',
    '',
  ].join('\n'));
}

export async function benchShell(report: (line: string) => void): Promise<void> {
  const workspace = mkdtempSync(join(tmpdir(), 'filefield-bench-shell-'));
  try {
    const empty = join(workspace, 'example');
    const typescriptProject = join(workspace, 'typescript-project');
    mkdirSync(empty);
    mkdirSync(typescriptProject);
    wallTimeMs(process.execPath, [CLI, 'init'], typescriptProject);

    const filefield = measure(process.execPath, [CLI, 'shell', '-c', '1'], empty);
    report(`filefield shell -c 1 (the bundled example project): ${summary(filefield)} (${RUNS} runs after a warm-up)`);
    if (existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import django'], { stdio: 'ignore' }).status === 0) {
      const django = join(workspace, 'django');
      djangoProject(django);
      const djangoTimes = measure(PYTHON, ['manage.py', 'shell', '-c', '1'], django);
      const version = spawnSync(PYTHON, ['-c', 'import django; print(django.get_version())'], { encoding: 'utf8' }).stdout.trim();
      report(`Django ${version} manage.py shell -c 1 (one app, the same Profile): ${summary(djangoTimes)}`);
      report(`  ratio filefield / Django (medians): ${(median(filefield) / median(djangoTimes)).toFixed(2)}x`);
    } else {
      report(`  Django: not measured (${PYTHON} has no django module; Debian's python3-django provides it)`);
    }
    report(`filefield shell -c 1 (a TypeScript project made by filefield init): ${summary(measure(process.execPath, [CLI, 'shell', '-c', '1'], typescriptProject))}`);
    const serves: number[] = [];
    await serveStartMs(typescriptProject);
    for (let run = 0; run < RUNS; run++) serves.push(await serveStartMs(typescriptProject));
    report(`filefield serve, until it listens (the TypeScript project): ${summary(serves)}`);
    report(`for reference: filefield --help: ${summary(measure(process.execPath, [CLI, '--help'], empty))}; `
      + `shell --no-imports -c 1: ${summary(measure(process.execPath, [CLI, 'shell', '--no-imports', '-c', '1'], empty))}; `
      + `node -e 0: ${summary(measure(process.execPath, ['-e', '0'], empty))}; python3 -c 1: ${summary(measure(PYTHON, ['-c', '1'], empty))}`);
    report('where the time of shell -c 1 goes (--cpu-prof, the bundled example project):');
    profileShellStartup(report, join(workspace, 'profiled'));
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
}
