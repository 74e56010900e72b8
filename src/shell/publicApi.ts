/**
 * The names Tab offers after a dot, for filefield's own objects: their public API (API.md), not the
 * internals the prototype chain also holds (`adoptSource`, `commitPending`, `stage`…). Methods a project
 * adds to its own model classes are offered too, being that project's API.
 */
import * as filefield from '../index.ts';
import { File, FieldFile, Manager, Model, Storage } from '../index.ts';

const FILE = ['name', 'size', 'chunks', 'multipleChunks', 'read', 'close', 'width', 'height'];
const FIELD_FILE = [
  'name', 'path', 'url', 'size', 'contentType', 'width', 'height', 'save', 'delete', 'open', 'read', 'chunks',
  'multipleChunks', 'close', 'signedUrl', 'attachUploaded', 'instance', 'field', 'storage',
];
const STORAGE = [
  'save', 'open', 'delete', 'exists', 'listdir', 'size', 'url', 'path', 'getAccessedTime', 'getCreatedTime',
  'getModifiedTime', 'getAvailableName', 'getValidName', 'getAlternativeName', 'generateFilename', 'signedUrl',
  'copy', 'move', 'copyTo', 'listAll', 'deleteAll', 'signedUploadUrl', 'alias',
];
const MODEL = ['id', 'save', 'delete', 'refreshFromDb'];
const MODEL_CLASS = ['objects', 'fields', 'name'];
const QUERY_SET = ['filter', 'exclude', 'orderBy', 'limit', 'offset', 'count', 'exists', 'first', 'last', 'get', 'update', 'delete'];
const MANAGER = ['create', 'all', 'get', 'filter', 'exclude', 'orderBy', 'first', 'last', 'count', 'exists'];

/** Members defined by the classes between `value`'s own class and `base` (a project's additions). */
function ownMembers(value: object, base: object): string[] {
  const names: string[] = [];
  for (let proto = Object.getPrototypeOf(value) as object | null; proto && proto !== base; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor' && !name.startsWith('_')) names.push(name);
  }
  return names;
}

function isModelClass(value: unknown): value is typeof Model {
  return typeof value === 'function' && value.prototype instanceof Model;
}

/** The names to offer for `value`, or null when it is not one of filefield's objects (Node's list stays). */
export function publicNames(value: unknown): Set<string> | null {
  if (isModelClass(value)) {
    const statics = Object.getOwnPropertyNames(value).filter((name) => !['length', 'prototype'].includes(name) && !name.startsWith('_'));
    return new Set([...MODEL_CLASS, ...statics]);
  }
  if (typeof value !== 'object' || value === null) return null;
  const QuerySet = (filefield as Record<string, unknown>).QuerySet;
  let names: string[] | null = null;
  if (typeof QuerySet === 'function' && value instanceof QuerySet) names = QUERY_SET;
  else if (value instanceof Manager) names = MANAGER;
  else if (value instanceof FieldFile) names = FIELD_FILE;
  else if (value instanceof File) names = FILE;
  else if (value instanceof Storage) names = STORAGE;
  else if (value instanceof Model) names = [...MODEL, ...Object.keys((value.constructor as typeof Model).fields), ...ownMembers(value, Model.prototype)];
  if (names === null) return null;
  return new Set(names.filter((name) => name in value));
}
