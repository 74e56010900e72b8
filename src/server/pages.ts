/**
 * The page at `/`: every model with file fields, its rows (images shown, other files linked) and an
 * upload form per model. Rendered on the server with the `html` tag, so every value is escaped.
 */
import { isAbsolute, relative } from 'node:path';
import { settings } from '../conf/settings.ts';
import { formatBytes } from '../files/File.ts';
import { DEFAULT_IMAGE_FORMATS } from '../files/imageInspection.ts';
import { CharField, IntegerField, type Field } from '../models/fields.ts';
import { ImageField, type FileField } from '../models/FileField.ts';
import type { FieldFile } from '../models/FieldFile.ts';
import type { Model, ModelClass } from '../models/Model.ts';
import { html, rawHtml, safeUrl, type SafeHtml } from './html.ts';
import { isInlineImage, safeContentType } from '../http/contentHeaders.ts';
import { valueFieldsOf } from '../http/receiveUpload.ts';
import { STYLESHEET, STYLESHEET_HASH } from './styles.ts';

/** Rows shown per model, newest first; a dev page, not an admin. */
const ROWS_SHOWN = 60;
/** How long the page's signed links stay valid. */
export const SIGNED_LINK_SECONDS = 3600;

export interface PageContext {
  models: readonly ModelClass[];
  uploadLimit: number;
}

export interface PageState {
  /** The form that was refused: its model's table, the message and what the user typed. */
  refused?: { table: string; message: string; values: Record<string, string> };
  /** The row just saved (after the redirect), to confirm it. */
  saved?: { table: string; id: number };
}

export interface RenderedPage {
  body: string;
  contentSecurityPolicy: string;
}

/** The URL path of a model's upload form. */
export function uploadPath(model: ModelClass): string {
  return `/upload/${encodeURIComponent(model.tableName)}`;
}

function anchorSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** The fragment id of a row, for the redirect after an upload. */
export function rowAnchor(model: ModelClass, id: number | null): string {
  return anchorSafe(`${model.tableName}-${id ?? ''}`);
}

function modelAnchor(model: ModelClass): string {
  return anchorSafe(`model-${model.tableName}`);
}

function describeImageFormats(): string {
  return DEFAULT_IMAGE_FORMATS.map((format) => format.toUpperCase().replace('JPG', 'JPEG').replace('TIF', 'TIFF')).join(', ');
}

/** What the page needs of one file, read without touching the storage except for signing. */
interface FileView {
  fieldName: string;
  name: string;
  url: string | null;
  signedUrl: string | null;
  contentType: string | undefined;
  size: number | undefined;
  width: number | undefined;
  height: number | undefined;
}

async function viewOf(fieldName: string, fieldFile: FieldFile): Promise<FileView | null> {
  if (!fieldFile.name) return null;
  const { contentType, size, width, height } = fieldFile.metadata;
  let url: string | null = null;
  let signedUrl: string | null = null;
  try {
    url = safeUrl(fieldFile.url);
  } catch {
    // A storage without URLs: the name is all there is to show.
  }
  try {
    if (url !== null) signedUrl = safeUrl(await fieldFile.signedUrl({ expiresIn: SIGNED_LINK_SECONDS }));
  } catch {
    // A storage that cannot sign: no signed link.
  }
  return { fieldName, name: fieldFile.name, url, signedUrl, contentType, size, width, height };
}

function extensionBadge(name: string): string {
  const dot = name.lastIndexOf('.');
  const extension = dot > name.lastIndexOf('/') ? name.slice(dot + 1, dot + 6) : '';
  return extension ? extension.toUpperCase() : 'FILE';
}

function renderPreview(file: FileView | undefined, label: string): SafeHtml {
  if (!file) return html`<div class="thumb"><span class="badge">EMPTY</span></div>`;
  const inlineImage = file.contentType !== undefined && isInlineImage(safeContentType(file.contentType));
  if (inlineImage && file.url !== null) {
    const dimensions = file.width !== undefined && file.height !== undefined
      ? html` width="${file.width}" height="${file.height}"`
      : '';
    return html`<a class="thumb" href="${file.url}"><img src="${file.url}"${dimensions} alt="${label}" loading="lazy"></a>`;
  }
  const badge = html`<span class="badge">${extensionBadge(file.name)}</span>`;
  return file.url === null ? html`<div class="thumb">${badge}</div>` : html`<a class="thumb" href="${file.url}">${badge}</a>`;
}

function renderFileDetails(file: FileView, showFieldName: boolean): SafeHtml {
  const facts = [
    showFieldName ? file.fieldName : null,
    file.width !== undefined && file.height !== undefined ? `${file.width}×${file.height}` : null,
    file.contentType ?? null,
    file.size !== undefined ? formatBytes(file.size) : null,
  ].filter((fact): fact is string => fact !== null);
  return html`<p class="file"><span class="file-name" title="${file.name}">${file.name}</span>${facts.join(' · ')}</p>
    <p class="links">${file.url !== null ? html`<a href="${file.url}">Open</a>` : ''}${
      file.signedUrl !== null ? html`<a href="${file.signedUrl}" title="A link that works for one hour">Signed link (1 h)</a>` : ''}</p>`;
}

function displayValue(value: unknown): string {
  return value === null || value === undefined || value === '' ? '—' : String(value);
}

async function renderRow(model: ModelClass, instance: Model): Promise<SafeHtml> {
  const record = instance as unknown as Record<string, unknown>;
  const files = (await Promise.all(model.fileFields().map(([name]) => viewOf(name, record[name] as FieldFile))))
    .filter((file): file is FileView => file !== null);
  const values = valueFieldsOf(model);
  const [titleField, ...otherFields] = values;
  const title = titleField ? displayValue(record[titleField[0]]) : model.name;
  const preview = files.find((file) => file.contentType !== undefined && isInlineImage(safeContentType(file.contentType))) ?? files[0];
  return html`<li class="row card" id="${rowAnchor(model, instance.id)}">
    ${renderPreview(preview, `${model.name} #${instance.id ?? ''}: ${title}`)}
    <div class="row-body">
      <p class="row-title"><span class="id">#${instance.id}</span><strong>${title}</strong></p>
      ${otherFields.length ? html`<p class="values">${otherFields.map(([name], index) => html`${index ? ' · ' : ''}${name}: ${displayValue(record[name])}`)}</p>` : ''}
      ${files.map((file) => renderFileDetails(file, model.fileFields().length > 1))}
    </div>
  </li>`;
}

function renderInput(name: string, field: Field, value: string | undefined): SafeHtml {
  const id = `field-${name}`;
  const required = field.blank ? '' : rawHtml(' required');
  if (field instanceof IntegerField) {
    return html`<div class="form-row"><label for="${id}">${name}</label>
      <input type="number" step="1" id="${id}" name="${name}" value="${value ?? ''}"${required}></div>`;
  }
  const maxLength = field instanceof CharField && field.maxLength !== undefined ? html` maxlength="${field.maxLength}"` : '';
  return html`<div class="form-row"><label for="${id}">${name}</label>
    <input type="text" id="${id}" name="${name}" value="${value ?? ''}"${maxLength}${required}></div>`;
}

function renderFileInput(name: string, field: FileField, uploadLimit: number): SafeHtml {
  const id = `field-${name}`;
  const isImage = field instanceof ImageField;
  const hint = isImage ? `${describeImageFormats()} · up to ${formatBytes(uploadLimit)}` : `Any file · up to ${formatBytes(uploadLimit)}`;
  return html`<div class="form-row"><label for="${id}">${name}<span class="hint">${hint}</span></label>
    <input type="file" id="${id}" name="${name}"${isImage ? rawHtml(' accept="image/*"') : ''}${field.blank ? '' : rawHtml(' required')}></div>`;
}

function renderForm(model: ModelClass, context: PageContext, refused: PageState['refused']): SafeHtml {
  const failed = refused?.table === model.tableName ? refused : undefined;
  // Text fields come first: a browser sends parts in form order, so they arrive before the files.
  return html`<form class="upload card" method="post" action="${uploadPath(model)}" enctype="multipart/form-data">
    <h3>New ${model.name}</h3>
    ${failed ? html`<div class="alert error" role="alert"><strong>Not saved.</strong> ${failed.message}</div>` : ''}
    ${valueFieldsOf(model).map(([name, field]) => renderInput(name, field, failed?.values[name]))}
    ${model.fileFields().map(([name, field]) => renderFileInput(name, field, context.uploadLimit))}
    <button type="submit">Upload</button>
  </form>`;
}

async function renderModel(model: ModelClass, context: PageContext, state: PageState): Promise<SafeHtml> {
  const instances = (await model.objects.all()).sort((a: Model, b: Model) => (b.id ?? 0) - (a.id ?? 0));
  const shown = instances.slice(0, ROWS_SHOWN);
  const rows = await Promise.all(shown.map((instance) => renderRow(model, instance)));
  const saved = state.saved?.table === model.tableName ? state.saved : undefined;
  const countText = `${instances.length} ${instances.length === 1 ? 'row' : 'rows'}${instances.length > ROWS_SHOWN ? `, newest ${ROWS_SHOWN} shown` : ''}`;
  return html`<section class="model" id="${modelAnchor(model)}">
    <div class="model-head"><h2>${model.name}</h2><span class="count">${countText}</span></div>
    ${saved ? html`<div class="alert success" role="status">Saved ${model.name} #${saved.id}.</div>` : ''}
    <div class="layout">
      ${renderForm(model, context, state.refused)}
      ${rows.length
        ? html`<ul class="rows">${rows}</ul>`
        : html`<div class="card"><p class="empty">No ${model.name} rows yet: upload the first one.</p></div>`}
    </div>
  </section>`;
}

/** A path relative to the working directory when it lies inside it (shorter, and what the user typed). */
function displayPath(path: string): string {
  const inside = relative(process.cwd(), path);
  return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
}

/** Origins other than this server that the page's images come from (a remote storage's URLs). */
function imageOriginsOf(markup: string): string[] {
  const origins = new Set<string>();
  // Only plain scheme://host[:port] origins: anything else could break out of the policy's syntax.
  for (const match of markup.matchAll(/<img src="(https?:\/\/(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?)[/"]/gi)) origins.add(match[1]!);
  return [...origins];
}

export async function renderIndexPage(context: PageContext, state: PageState = {}): Promise<RenderedPage> {
  const sections = await Promise.all(context.models.map((model) => renderModel(model, context, state)));
  return renderDocument(context, sections.length
    ? html`${sections}`
    : html`<div class="card"><p class="empty">No models with file fields: list your model modules in the MODELS setting.</p></div>`);
}

/** The page in place of the rows when the server cannot show them (the database cannot be read). */
export function renderProblemPage(context: PageContext, message: string): RenderedPage {
  return renderDocument(context, html`<div class="card"><div class="alert error" role="alert"><strong>Unavailable.</strong> ${message}</div>
<p class="empty">Media files are still served. Run <code>filefield check</code> to see what is wrong.</p></div>`);
}

function renderDocument(context: PageContext, main: SafeHtml): RenderedPage {
  const mediaUrl = settings.MEDIA_URL;
  const body = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>filefield · media and uploads</title>
<style>${rawHtml(STYLESHEET)}</style>
</head>
<body>
<header class="top"><div class="top-inner">
  <h1>filefield <span>· media and uploads</span></h1>
  <p class="meta">Files from <code>${displayPath(settings.MEDIA_ROOT)}</code>${mediaUrl ? html` served at <code>${mediaUrl}</code>` : ''} · uploads up to ${formatBytes(context.uploadLimit)}</p>
</div></header>
<main>
${main}
</main>
</body>
</html>
`.markup;
  const imageSources = ["'self'", ...imageOriginsOf(body)].join(' ');
  return {
    body,
    contentSecurityPolicy: `default-src 'none'; style-src ${STYLESHEET_HASH}; img-src ${imageSources}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  };
}
