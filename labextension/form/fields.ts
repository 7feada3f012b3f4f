/**
 * From predict's input schema to form fields, and between a field's draft (what the person
 * typed, possibly not valid yet) and the JSON value sent to /predict.
 */
import { IFieldError, ISchema, checkValue, isAny, joinPath } from './schema';

export type Kind =
  | 'integer'
  | 'number'
  | 'string'
  | 'boolean'
  | 'null'
  | 'enum'
  | 'array'
  | 'tuple'
  | 'object'
  | 'json';

/** One field of the form. */
export interface IField {
  kind: Kind;
  schema: ISchema;
  /** `Optional[X]`: the field can be set to null. */
  nullable: boolean;
  /** enum: the allowed values. */
  options?: unknown[];
  /** array: the field of each item. */
  items?: IField;
  /** tuple: the field of each position. */
  positions?: IField[];
  /** object: the named properties (predict's arguments at the top). */
  properties?: IProperty[];
  /** object: the field of values under other keys (`dict[str, X]`, `**kwargs`); null: none. */
  extra?: IField | null;
}

export interface IProperty {
  name: string;
  field: IField;
  required: boolean;
}

/** What a person is editing: text for scalars, structure for lists and objects. */
export type Draft =
  | { t: 'text'; text: string }
  | { t: 'bool'; value: boolean }
  | { t: 'null' }
  | { t: 'list'; items: Draft[] }
  | {
      t: 'object';
      /** undefined: an optional property left out of the body. */
      props: { [name: string]: Draft | undefined };
      extra: { key: string; value: Draft }[];
    };

const ANY: ISchema = {};

/** The form field of a schema. */
export function fieldOf(schema: ISchema): IField {
  const members = schema.anyOf;
  if (members) {
    const others = members.filter(member => member.type !== 'null');
    if (others.length === 1 && others.length < members.length) {
      return { ...fieldOf(others[0]), schema, nullable: true };
    }
    return { kind: 'json', schema, nullable: false };
  }
  if (schema.enum) {
    return { kind: 'enum', schema, nullable: false, options: schema.enum };
  }
  if (schema.prefixItems) {
    const positions = schema.prefixItems.map(fieldOf);
    return { kind: 'tuple', schema, nullable: false, positions };
  }
  switch (schema.type) {
    case 'integer':
    case 'number':
    case 'string':
    case 'boolean':
    case 'null':
      return { kind: schema.type, schema, nullable: false };
    case 'array':
      return {
        kind: 'array',
        schema,
        nullable: false,
        items: fieldOf(schema.items ?? ANY)
      };
    case 'object':
      return objectField(schema);
    default:
      return { kind: 'json', schema, nullable: false };
  }
}

function objectField(schema: ISchema): IField {
  const required = schema.required ?? [];
  // deploy.json is written with sorted keys, but `required` keeps predict's argument order:
  // the required arguments first, in that order, then the optional ones
  const rank = (name: string) => {
    const index = required.indexOf(name);
    return index < 0 ? required.length : index;
  };
  const properties = Object.entries(schema.properties ?? {})
    .map(([name, s]) => ({
      name,
      field: fieldOf(s),
      required: required.includes(name)
    }))
    .sort((a, b) => rank(a.name) - rank(b.name));
  const more = schema.additionalProperties;
  let extra: IField | null;
  if (typeof more === 'object') {
    extra = fieldOf(more);
  } else if (more === false || (more === undefined && schema.properties)) {
    extra = null;
  } else {
    extra = fieldOf(ANY);
  }
  return { kind: 'object', schema, nullable: false, properties, extra };
}

/** The draft of a field before anything is typed. */
export function emptyDraft(field: IField): Draft {
  if (field.nullable || field.kind === 'null') {
    return { t: 'null' };
  }
  switch (field.kind) {
    case 'boolean':
      return { t: 'bool', value: false };
    case 'enum':
      return { t: 'text', text: JSON.stringify(field.options?.[0] ?? null) };
    case 'array':
      return { t: 'list', items: [] };
    case 'tuple':
      return { t: 'list', items: (field.positions ?? []).map(emptyDraft) };
    case 'object': {
      const props: { [name: string]: Draft | undefined } = {};
      for (const p of field.properties ?? []) {
        props[p.name] = p.required ? emptyDraft(p.field) : undefined;
      }
      return { t: 'object', props, extra: [] };
    }
    default:
      return { t: 'text', text: '' };
  }
}

/** The draft showing a value (the notebook's example, a request from history). */
export function draftOf(field: IField, value: unknown): Draft {
  if (value === undefined) {
    return emptyDraft(field);
  }
  if (value === null && (field.nullable || field.kind === 'null')) {
    return { t: 'null' };
  }
  switch (field.kind) {
    case 'integer':
    case 'number':
    case 'enum':
      return { t: 'text', text: JSON.stringify(value) };
    case 'string':
      return {
        t: 'text',
        text: typeof value === 'string' ? value : JSON.stringify(value)
      };
    case 'boolean':
      return { t: 'bool', value: value === true };
    case 'array':
    case 'tuple':
      return listDraft(field, value);
    case 'object':
      return objectDraft(field, value);
    default:
      return { t: 'text', text: JSON.stringify(value, null, 2) };
  }
}

function listDraft(field: IField, value: unknown): Draft {
  const values = Array.isArray(value) ? value : [];
  if (field.kind === 'tuple') {
    const positions = field.positions ?? [];
    return { t: 'list', items: positions.map((p, i) => draftOf(p, values[i])) };
  }
  return { t: 'list', items: values.map(v => draftOf(field.items!, v)) };
}

function objectDraft(field: IField, value: unknown): Draft {
  const record =
    value && typeof value === 'object' && !Array.isArray(value)
      ? (value as { [key: string]: unknown })
      : {};
  const props: { [name: string]: Draft | undefined } = {};
  const names = new Set<string>();
  for (const p of field.properties ?? []) {
    names.add(p.name);
    const given = p.name in record;
    props[p.name] =
      given || p.required ? draftOf(p.field, record[p.name]) : undefined;
  }
  const extraField = field.extra ?? fieldOf(ANY);
  const extra = Object.entries(record)
    .filter(([key]) => !names.has(key))
    .map(([key, v]) => ({ key, value: draftOf(extraField, v) }));
  return { t: 'object', props, extra };
}

/** The JSON value of a draft and every problem with it (the value is only sent without any). */
export function valueOf(
  field: IField,
  draft: Draft,
  path = ''
): { value: unknown; errors: IFieldError[] } {
  const errors: IFieldError[] = [];
  const value = read(field, draft, path, errors);
  return { value, errors };
}

function read(
  field: IField,
  draft: Draft,
  path: string,
  errors: IFieldError[]
): unknown {
  switch (draft.t) {
    case 'null':
      if (!field.nullable && field.kind !== 'null') {
        errors.push({ path, message: 'must not be null' });
      }
      return null;
    case 'bool':
      return draft.value;
    case 'text':
      return readText(field, draft.text, path, errors);
    case 'list':
      return draft.items.map((item, i) => {
        const itemField = field.positions?.[i] ?? field.items ?? fieldOf(ANY);
        return read(itemField, item, joinPath(path, i), errors);
      });
    case 'object':
      return readObject(field, draft, path, errors);
  }
}

function readText(
  field: IField,
  text: string,
  path: string,
  errors: IFieldError[]
): unknown {
  const trimmed = text.trim();
  if (field.kind === 'string') {
    return text;
  }
  if (field.kind === 'integer' || field.kind === 'number') {
    const number = trimmed === '' ? NaN : Number(trimmed);
    if (!isFinite(number)) {
      errors.push({
        path,
        message: trimmed ? `"${trimmed}" is not a number` : 'enter a number'
      });
      return null;
    }
    if (field.kind === 'integer' && !Number.isInteger(number)) {
      errors.push({ path, message: `${trimmed} is not a whole number` });
    }
    return number;
  }
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    const reason = trimmed ? 'is not valid JSON' : 'enter a JSON value';
    errors.push({ path, message: reason });
    return null;
  }
  errors.push(
    ...(isAny(field.schema) ? [] : checkValue(field.schema, value, path))
  );
  return value;
}

function readObject(
  field: IField,
  draft: Extract<Draft, { t: 'object' }>,
  path: string,
  errors: IFieldError[]
): unknown {
  const out: { [key: string]: unknown } = {};
  for (const p of field.properties ?? []) {
    const item = draft.props[p.name];
    if (item !== undefined) {
      out[p.name] = read(p.field, item, joinPath(path, p.name), errors);
    } else if (p.required) {
      errors.push({ path: joinPath(path, p.name), message: 'is required' });
    }
  }
  const extraField = field.extra ?? fieldOf(ANY);
  draft.extra.forEach(({ key, value }, i) => {
    const where = joinPath(path, key || `#${i + 1}`);
    if (!key) {
      errors.push({ path: where, message: 'give the key a name' });
    } else if (key in out) {
      errors.push({ path: where, message: `the key "${key}" is there twice` });
    }
    out[key] = read(extraField, value, where, errors);
  });
  return out;
}
