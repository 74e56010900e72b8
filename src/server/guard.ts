/**
 * Request checks fit for a development server: a Host header naming this server (so a DNS-rebinding page
 * cannot talk to it under another name) and, on POST, an Origin or Referer of this very server (so another
 * site cannot make a visitor's browser upload here). Tools that send neither (curl, scripts) are not
 * browsers, cannot be tricked by another site, and are let through.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]']);

/** The host names (without port) this server answers to when listening on `host`; null accepts any. */
export function allowedHostNames(host: string): Set<string> | null {
  if (WILDCARD_ADDRESSES.has(host)) return null; // listening everywhere: the user chose to be reachable by any name
  const named = isIP(host) === 6 ? `[${host}]` : host.toLowerCase();
  return new Set([...LOOPBACK_NAMES, named]);
}

/** The name part of a Host header ('[::1]' for '[::1]:8000'), or null if it is not a plain host[:port]. */
function hostNameOf(hostHeader: string): string | null {
  const match = /^([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.exec(hostHeader);
  return match ? match[1]!.toLowerCase() : null;
}

/** Why the Host header is refused, or null when it names this server. */
export function hostProblem(request: IncomingMessage, allowed: Set<string> | null): string | null {
  const hostHeader = request.headers.host;
  if (!hostHeader) return 'The request has no Host header.';
  if (allowed === null) return null;
  const name = hostNameOf(hostHeader);
  if (name === null || !allowed.has(name)) {
    return `The Host header (${hostHeader}) does not name this server; use one of: ${[...allowed].join(', ')}.`;
  }
  return null;
}

function originOf(value: string): string | null {
  try {
    const url = new URL(value);
    return url.origin === 'null' ? null : url.origin;
  } catch {
    return null;
  }
}

/** Why a state-changing request looks cross-site, or null when it comes from a page of this server. */
export function crossSiteProblem(request: IncomingMessage): string | null {
  const ownOrigin = `http://${request.headers.host ?? ''}`.toLowerCase();
  const origin = request.headers.origin;
  if (origin !== undefined) {
    return originOf(origin) === ownOrigin ? null : `Refused a cross-site upload: the Origin (${origin}) is not ${ownOrigin}.`;
  }
  const referer = request.headers.referer;
  if (referer !== undefined) {
    return originOf(referer) === ownOrigin ? null : 'Refused a cross-site upload: the Referer is not a page of this server.';
  }
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    return `Refused a cross-site upload (Sec-Fetch-Site: ${fetchSite}).`;
  }
  return null;
}
