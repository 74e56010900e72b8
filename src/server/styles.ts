/**
 * The page's stylesheet, inline (no build step, no second request) and allowed by its hash in the
 * Content-Security-Policy, so no other inline style or script can run.
 */
import { createHash } from 'node:crypto';

export const STYLESHEET = `
:root {
  color-scheme: light;
  --text: #1d2430; --muted: #5f6b7a; --line: #e3e7ed; --surface: #ffffff; --page: #f6f7f9;
  --accent: #2358c4; --accent-dark: #1a4597;
  --error: #a3262b; --error-bg: #fdf0f0; --success: #1f6e43; --success-bg: #eef8f2;
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--page); color: var(--text);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
code, .file-name { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 0.86em; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.top { background: var(--surface); border-bottom: 1px solid var(--line); }
.top-inner, main { max-width: 1080px; margin: 0 auto; padding: 0 24px; }
.top-inner { padding-top: 18px; padding-bottom: 16px; }
h1 { margin: 0; font-size: 20px; font-weight: 650; letter-spacing: -0.01em; }
h1 span { color: var(--muted); font-weight: 400; }
.meta { margin: 4px 0 0; color: var(--muted); font-size: 13px; }
main { padding-top: 24px; padding-bottom: 48px; }
.model + .model { margin-top: 40px; }
.model-head { display: flex; align-items: baseline; gap: 12px; margin-bottom: 12px; }
h2 { margin: 0; font-size: 18px; font-weight: 650; }
.count { color: var(--muted); font-size: 13px; }
.layout { display: grid; grid-template-columns: 280px 1fr; gap: 20px; align-items: start; }
@media (max-width: 760px) { .layout { grid-template-columns: 1fr; } }
.card { background: var(--surface); border: 1px solid var(--line); border-radius: 10px; }
.upload { padding: 16px; }
.upload h3 { margin: 0 0 12px; font-size: 15px; font-weight: 600; }
label { display: block; margin: 0 0 4px; font-size: 13px; font-weight: 600; }
.hint { display: block; margin-top: 4px; color: var(--muted); font-size: 12px; font-weight: 400; }
.form-row { margin-bottom: 14px; }
input[type=text], input[type=number] {
  width: 100%; padding: 7px 9px; border: 1px solid #cdd3dc; border-radius: 6px; font: inherit; background: #fff;
}
input[type=file] { width: 100%; font-size: 13px; }
input:focus-visible, button:focus-visible, a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
button {
  width: 100%; padding: 8px 12px; border: 0; border-radius: 6px; background: var(--accent); color: #fff;
  font: inherit; font-weight: 600; cursor: pointer;
}
button:hover { background: var(--accent-dark); }
.alert { margin: 0 0 14px; padding: 9px 12px; border-radius: 6px; font-size: 13.5px; border-left: 4px solid; }
.alert.error { background: var(--error-bg); border-color: var(--error); color: var(--error); }
.alert.success { background: var(--success-bg); border-color: var(--success); color: var(--success); }
.rows { list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 14px; }
.row { overflow: hidden; }
.row:target { border-color: var(--accent); box-shadow: 0 0 0 2px rgba(35, 88, 196, 0.18); }
.thumb {
  display: flex; align-items: center; justify-content: center; height: 150px; padding: 10px;
  background: #eef1f5; border-bottom: 1px solid var(--line);
}
.thumb img { width: 100%; height: 100%; object-fit: contain; }
.badge { padding: 6px 10px; border-radius: 6px; background: #fff; border: 1px solid var(--line); color: var(--muted); font-weight: 650; font-size: 13px; letter-spacing: 0.04em; }
.row-body { padding: 10px 12px 12px; }
.row-title { margin: 0 0 4px; font-size: 14px; }
.row-title .id { color: var(--muted); margin-right: 6px; }
.file { margin: 6px 0 0; font-size: 12.5px; color: var(--muted); }
.file-name { display: block; color: var(--text); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.links { margin: 8px 0 0; font-size: 13px; display: flex; gap: 12px; flex-wrap: wrap; }
.empty { margin: 0; padding: 28px 16px; text-align: center; color: var(--muted); }
.values { margin: 0; font-size: 13px; color: var(--muted); }
`;

/** The CSP source that allows exactly this stylesheet. */
export const STYLESHEET_HASH = `'sha256-${createHash('sha256').update(STYLESHEET).digest('base64')}'`;
