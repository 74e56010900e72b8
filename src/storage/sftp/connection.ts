/**
 * One SSH connection per storage, opened on first use and reopened after it drops.
 *
 * ssh2-sftp-client (and ssh2 under it) is imported here, on first use only. The TCP socket is opened here
 * too, and handed to ssh2, so that it can be unref'd while no operation (and no open file) uses it: an idle
 * connection must not keep a script or `filefield shell -c` alive after its work is done.
 *
 * The server's host key is checked at every connection against `knownHostKey`; without one the connection
 * is refused, and the error shows the key the server presented so that the user can check and pin it.
 */
import { connect as connectTcp, type Socket } from 'node:net';
import type { SFTPWrapper } from 'ssh2';
import type SftpClient from 'ssh2-sftp-client';
import { firstLineOf } from '../operationError.ts';
import { SftpConnectionFailure, isConnectionLost } from './errors.ts';
import { describeKey, isTrusted } from './hostKey.ts';
import type { ResolvedSFTPOptions } from './options.ts';

export type { SftpClient, SFTPWrapper };

interface Session {
  client: SftpClient;
  /** ssh2's SFTP channel under the client, for the pipelined transfers (transfer.ts). */
  sftp: SFTPWrapper;
  socket: Socket;
  /** Operations and open files using the session; the socket is ref'd only while this is above 0. */
  users: number;
  closed: boolean;
}

export interface Lease {
  client: SftpClient;
  sftp: SFTPWrapper;
  /** Gives the session back (idempotent). */
  release(): void;
  /** Marks the session as dropped (a request found it lost): the next lease opens a new connection. */
  discard(): void;
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: is the SFTP server running, and are \'host\' and \'port\' right?',
  ENOTFOUND: 'the host name was not found: check \'host\'.',
  EAI_AGAIN: 'the host name could not be resolved now (DNS): check \'host\' and the network.',
  EHOSTUNREACH: 'the host is unreachable: check \'host\' and the network.',
  ENETUNREACH: 'the network is unreachable.',
  ECONNRESET: 'the server closed the connection at once (a firewall, or MaxStartups on the server?).',
};

/** Whether ssh2-sftp-client still has its SFTP channel (it drops it when the connection ends). */
function hasChannel(client: SftpClient): boolean {
  return (client as unknown as { sftp?: unknown }).sftp !== undefined;
}

export class SftpConnection {
  private current: Promise<Session> | null = null;

  constructor(private readonly options: ResolvedSFTPOptions) {}

  private get target(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  /**
   * Runs `work` with a connected client. With `retry`, work that failed because the connection dropped
   * (not because of what it asked) runs once more on a new connection: only for work that is safe to repeat.
   */
  async run<T>(work: (client: SftpClient) => Promise<T>, options: { retry?: boolean } = {}): Promise<T> {
    return this.withLease(async (lease) => {
      try {
        return await work(lease.client);
      } finally {
        lease.release();
      }
    }, options);
  }

  /**
   * Runs `work` with a lease that it must release. With `retry`, work that found the connection dropped runs
   * once more, on a new connection (the dropped one is discarded first, whether or not its client noticed).
   */
  async withLease<T>(work: (lease: Lease) => Promise<T>, options: { retry?: boolean } = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const lease = await this.lease();
      try {
        return await work(lease);
      } catch (error) {
        if (!(options.retry && attempt === 0 && isConnectionLost(error))) throw error;
        lease.discard();
      }
    }
  }

  /** A connected client held until release() (for streams that outlive one call). */
  async lease(): Promise<Lease> {
    const session = await this.connected();
    if (session.users++ === 0) session.socket.ref();
    let released = false;
    return {
      client: session.client,
      sftp: session.sftp,
      release: () => {
        if (released) return;
        released = true;
        if (--session.users === 0) session.socket.unref();
      },
      discard: () => {
        session.closed = true;
        session.socket.destroy();
      },
    };
  }

  /** Closes the connection (the next operation opens a new one). */
  async close(): Promise<void> {
    const pending = this.current;
    this.current = null;
    if (!pending) return;
    const session = await pending.catch(() => null);
    if (!session || session.closed) return;
    session.closed = true;
    session.socket.ref(); // until the goodbye is sent
    await session.client.end().catch(() => undefined);
    session.socket.destroy();
  }

  private async connected(): Promise<Session> {
    for (;;) {
      const pending = (this.current ??= this.open());
      let session: Session;
      try {
        session = await pending;
      } catch (error) {
        if (this.current === pending) this.current = null;
        throw error;
      }
      // The client may have given its channel up on an end it handled itself, without telling us.
      if (!session.closed && hasChannel(session.client)) return session;
      session.closed = true;
      if (this.current === pending) this.current = null;
    }
  }

  private async open(): Promise<Session> {
    let SftpClientClass: typeof SftpClient;
    try {
      SftpClientClass = (await import('ssh2-sftp-client')).default;
    } catch (error) {
      throw new SftpConnectionFailure(
        `ssh2-sftp-client could not be loaded: ${firstLineOf(error)}. Install it with npm install ssh2-sftp-client.`,
        'ERR_MODULE_NOT_FOUND',
        { cause: error },
      );
    }
    const socket = await this.openSocket();
    const session = { socket, users: 0, closed: false } as Session;
    const markClosed = () => {
      session.closed = true;
    };
    socket.once('close', markClosed);
    // Without callbacks of its own, ssh2-sftp-client logs connection events to the console.
    const client = new SftpClientClass('filefield', { error: markClosed, end: markClosed, close: markClosed });
    session.client = client;
    // Every pending operation listens for the connection's end: many at once are normal here, not a leak.
    (client as unknown as { client: { setMaxListeners(count: number): void } }).client.setMaxListeners(0);

    let presentedKey: Buffer | undefined;
    let keyRefused = false;
    let rawError: (Error & { level?: string }) | undefined;
    client.on('error', (error: Error) => {
      rawError ??= error;
    });
    const { knownHostKey } = this.options;
    try {
      session.sftp = await client.connect({
        sock: socket,
        username: this.options.username,
        ...(this.options.privateKey === null ? {} : { privateKey: this.options.privateKey }),
        ...(this.options.passphrase === null ? {} : { passphrase: this.options.passphrase }),
        ...(this.options.password === null ? {} : { password: this.options.password }),
        readyTimeout: this.options.connectTimeoutMs,
        hostVerifier: (key: Buffer) => {
          presentedKey = Buffer.from(key);
          keyRefused = knownHostKey !== false && (knownHostKey === null || !isTrusted(knownHostKey, key));
          return !keyRefused;
        },
      });
    } catch (error) {
      socket.destroy();
      throw this.connectFailure(error, rawError, keyRefused ? presentedKey : undefined);
    }
    if (session.users === 0) socket.unref();
    return session;
  }

  private openSocket(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = connectTcp({ host: this.options.host, port: this.options.port });
      const fail = (error: Error & { code?: string }) => {
        socket.destroy();
        const code = error.code ?? 'ECONNREFUSED';
        const reason = NETWORK_REASONS[code] ?? `${firstLineOf(error)}.`;
        reject(new SftpConnectionFailure(`cannot connect to ${this.target}: ${reason}`, code, { cause: error }));
      };
      socket.setTimeout(this.options.connectTimeoutMs, () => {
        fail(Object.assign(new Error(`no answer within ${this.options.connectTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
      });
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.setTimeout(0);
        socket.removeListener('error', fail);
        resolve(socket);
      });
    });
  }

  private connectFailure(error: unknown, rawError: (Error & { level?: string }) | undefined, refusedKey: Buffer | undefined): SftpConnectionFailure {
    const { username, knownHostKey } = this.options;
    if (refusedKey !== undefined) {
      const presented = describeKey(refusedKey);
      const reason = knownHostKey === null
        ? `the server's host key is not trusted yet: ${this.target} presented ${presented}. Check it with the server's `
          + `administrator (ssh-keyscan -p ${this.options.port} ${this.options.host} | ssh-keygen -lf -), then set `
          + `'knownHostKey' to it (knownHostKey: false turns the check off, which lets anyone on the path pose as the server).`
        : `the server's host key does not match 'knownHostKey': ${this.target} presented ${presented}. If the server's key `
          + 'was changed on purpose, update knownHostKey; otherwise someone may be posing as the server.';
      return new SftpConnectionFailure(reason, 'EHOSTKEY', { cause: error });
    }
    const level = rawError?.level;
    const detail = firstLineOf(rawError ?? error).replace(/^\w+: /, '');
    if (level === 'client-authentication' || /authentication methods failed/i.test(detail)) {
      return new SftpConnectionFailure(
        `the server at ${this.target} refused the credentials of user '${username}' (${detail}): check 'username' and 'privateKey' or 'password'.`,
        'EAUTH',
        { cause: error },
      );
    }
    if (/privateKey|private key|passphrase/i.test(detail)) {
      return new SftpConnectionFailure(
        `the private key cannot be used (${detail}): give the key text in 'privateKey', and 'passphrase' if it has one.`,
        'EKEY',
        { cause: error },
      );
    }
    if (level === 'client-timeout' || /timed out/i.test(detail)) {
      return new SftpConnectionFailure(
        `no SSH handshake with ${this.target} within ${this.options.connectTimeoutMs / 1000} s (${detail}): is it an SSH server?`,
        'ETIMEDOUT',
        { cause: error },
      );
    }
    return new SftpConnectionFailure(`cannot connect to ${this.target}: ${detail}.`, 'ECONNECT', { cause: error });
  }
}
