/**
 * Where an object lives on the wire: the URL the SDK would address for a bucket and key, computed without the
 * SDK so that url() stays synchronous and free of it. The rules follow the SDK's endpoint rules for the cases
 * that matter here (checked against its presigner in the tests): virtual-hosted style when the bucket can be a
 * DNS label and the endpoint is a host name, path style otherwise or when asked for.
 */
import { isIP } from 'node:net';
import type { ResolvedS3Options } from './options.ts';

/** RFC 3986 encoding of one path segment, as S3 and SigV4 expect it (encodeURIComponent leaves !'()* alone). */
export function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** An object key as a URL path: each segment encoded, the slashes kept. */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeSegment).join('/');
}

/** A bucket name that can be the first label of a host name (no dots: those break TLS wildcard certificates). */
function isVirtualHostable(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
}

function awsEndpoint(region: string): URL {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return new URL(`https://s3.${region}.${suffix}`);
}

/** The unsigned URL of an object (or of the bucket's root for the key ''). */
export function objectUrl(options: Pick<ResolvedS3Options, 'bucket' | 'region' | 'endpoint' | 'forcePathStyle'>, key: string): URL {
  const endpoint = options.endpoint ?? awsEndpoint(options.region);
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  const hostname = endpoint.hostname.replace(/^\[|\]$/g, '');
  const pathStyle = options.forcePathStyle || !isVirtualHostable(options.bucket) || isIP(hostname) !== 0;
  const url = new URL(endpoint.origin);
  if (pathStyle) {
    url.pathname = `${basePath}/${encodeSegment(options.bucket)}/${encodeKey(key)}`;
  } else {
    url.hostname = `${options.bucket}.${endpoint.hostname}`;
    url.pathname = `${basePath}/${encodeKey(key)}`;
  }
  return url;
}

/** The URL of an object served by a custom domain (a CDN or a bucket website). */
export function customDomainUrl(protocol: 'https:' | 'http:', domain: string, key: string): string {
  return `${protocol}//${domain}/${encodeKey(key)}`;
}
