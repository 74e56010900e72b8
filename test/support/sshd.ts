/**
 * A real OpenSSH server for the SFTP tests: Debian's /usr/sbin/sshd (package openssh-server) run in the
 * foreground on 127.0.0.1 with a configuration, host key, client key and authorized_keys of its own in a
 * temporary folder, so it needs no system setup and leaves nothing behind.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './children.ts';

/** sshd re-executes itself by its own path, so it refuses to start from a relative one. */
const SSHD = '/usr/sbin/sshd';
const START_TIMEOUT_MS = 15_000;

export interface SshdServer {
  host: string;
  port: number;
  username: string;
  /** The client's private key (OpenSSH format), authorized on the server. */
  privateKey: string;
  /** The server's public host key line (`ssh-ed25519 AAAA… comment`). */
  hostKey: string;
  /** SHA256 fingerprint of the host key, as `ssh-keygen -l` prints it (`SHA256:…`). */
  hostKeyFingerprint: string;
  /** An empty folder the tests may use as the storage root (absolute). */
  root: string;
  /** The listening sshd's process id; each connection is served by a child of it. */
  pid: number;
  /** The processes serving open connections (children of the listener that have not exited). */
  connectionPids(): number[];
  stop(): Promise<void>;
}

function generateKey(path: string, comment: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { stdio: 'ignore' });
}

function fingerprintOf(publicKeyFile: string): string {
  // "256 SHA256:abc… comment (ED25519)"
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyFile], { encoding: 'utf8' }).split(' ')[1]!;
}

/** Resolves once something on the port answers with an SSH banner. */
function sshBannerSeen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (seen: boolean) => {
      socket.destroy();
      resolve(seen);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('data', (data) => done(data.toString('latin1').startsWith('SSH-')));
    socket.once('error', () => done(false));
  });
}

function configFor(folder: string, port: number): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(folder, 'ssh_host_ed25519_key')}`,
    `AuthorizedKeysFile ${join(folder, 'authorized_keys')}`,
    `PidFile ${join(folder, 'sshd.pid')}`,
    'UsePAM no',
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'Subsystem sftp internal-sftp',
    // Many parallel saves open many channels and sessions at once.
    'MaxSessions 64',
    'MaxStartups 64',
    'LogLevel ERROR',
    '',
  ].join('\n');
}

/** Live children of `parent`, read from /proc (no procps needed). */
function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (command) state ppid …": the command may hold spaces and parentheses, so read after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(ppid) === parent && state !== 'Z') children.push(Number(entry));
  }
  return children;
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function launch(folder: string, port: number): Promise<{ child: ChildProcess; stderr: () => string }> {
  const configFile = join(folder, 'sshd_config');
  writeFileSync(configFile, configFor(folder, port));
  let stderr = '';
  const child = spawn(SSHD, ['-D', '-e', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await sshBannerSeen(port)) return { child, stderr: () => stderr };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGTERM');
  await exitOf(child);
  throw new Error(`sshd did not start on 127.0.0.1:${port}: ${stderr.trim() || `exit code ${child.exitCode}`}`);
}

export async function startSshd(): Promise<SshdServer> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install Debian's openssh-server package.`);
  // The privilege-separation folder sshd insists on when started as root.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const folder = mkdtempSync(join(tmpdir(), 'filefield-sshd-'));
  const root = join(folder, 'files');
  mkdirSync(root);
  const hostKeyFile = join(folder, 'ssh_host_ed25519_key');
  const clientKeyFile = join(folder, 'client_key');
  generateKey(hostKeyFile, 'filefield-test-host');
  generateKey(clientKeyFile, 'filefield-test-client');
  writeFileSync(join(folder, 'authorized_keys'), readFileSync(`${clientKeyFile}.pub`));

  // Another process may take the free port between the check and sshd's bind: try a few.
  let started: Awaited<ReturnType<typeof launch>> | undefined;
  let port = 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < 5 && !started; attempt++) {
    port = await freePort();
    try {
      started = await launch(folder, port);
    } catch (error) {
      lastError = error;
    }
  }
  if (!started) {
    rmSync(folder, { recursive: true, force: true });
    throw lastError;
  }
  const { child } = started;

  return {
    host: '127.0.0.1',
    port,
    username: userInfo().username,
    privateKey: readFileSync(clientKeyFile, 'utf8'),
    hostKey: readFileSync(`${hostKeyFile}.pub`, 'utf8').trim(),
    hostKeyFingerprint: fingerprintOf(`${hostKeyFile}.pub`),
    root,
    pid: child.pid!,
    connectionPids: () => childrenOf(child.pid!),
    async stop() {
      // Sessions of connections closed just now are still exiting: let the listener reap them first.
      for (let waited = 0; waited < 2000 && childrenOf(child.pid!).length > 0; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      child.kill('SIGTERM');
      await exitOf(child);
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
