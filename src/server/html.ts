/**
 * Server-rendered HTML with escaping by construction: the `html` tag escapes every interpolated value
 * unless it is itself the output of `html`, so a name or value from a request can never become markup.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for element content and quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

/** Markup that has already been escaped (only `html` and `rawHtml` make these). */
export class SafeHtml {
  constructor(readonly markup: string) {}

  toString(): string {
    return this.markup;
  }
}

/** Trusted markup written in this codebase (the stylesheet): never pass request data to it. */
export function rawHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.markup;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** A template whose interpolations are escaped; arrays are rendered item by item; null, undefined and false vanish. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let markup = strings[0]!;
  for (let index = 0; index < values.length; index++) markup += render(values[index]) + strings[index + 1]!;
  return new SafeHtml(markup);
}

/**
 * A URL fit for href/src: a same-origin path or an http(s) URL. A storage's url() is code we do not
 * control, and a `javascript:` URL there would run in the page, so anything else becomes null.
 */
export function safeUrl(url: string): string | null {
  if (/[\u0000-\u001f\u007f\\]/.test(url)) return null;
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}
