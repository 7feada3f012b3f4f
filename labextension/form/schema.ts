/**
 * The JSON Schemas the compiler emits for predict's arguments (jupyter_deploy/compiler/
 * schema.py), checked and described: the test console's inline validation and type hints.
 */

/** A JSON Schema as the compiler writes it. */
export interface ISchema {
  type?: string;
  items?: ISchema;
  prefixItems?: ISchema[];
  minItems?: number;
  properties?: { [name: string]: ISchema };
  required?: string[];
  additionalProperties?: boolean | ISchema;
  enum?: unknown[];
  anyOf?: ISchema[];
  description?: string;
}

/** A problem with one value, `path` naming where (`features.2`, '' for the whole body). */
export interface IFieldError {
  path: string;
  message: string;
}

/** Join a path and a key or index. */
export function joinPath(path: string, key: string | number): string {
  return path ? `${path}.${key}` : String(key);
}

/** Whether the schema says nothing (any JSON value). */
export function isAny(schema: ISchema): boolean {
  return !schema.type && !schema.anyOf && !schema.enum && !schema.prefixItems;
}

/** The Python-ish type a person reads next to a field: `list[number]`, `number | null`... */
export function typeLabel(schema: ISchema): string {
  if (schema.anyOf) {
    return schema.anyOf.map(typeLabel).join(' | ');
  }
  if (schema.enum) {
    return `one of ${schema.enum.map(v => JSON.stringify(v)).join(', ')}`;
  }
  if (schema.type === 'array') {
    if (schema.prefixItems) {
      return `[${schema.prefixItems.map(typeLabel).join(', ')}]`;
    }
    return schema.items ? `list[${typeLabel(schema.items)}]` : 'list';
  }
  if (schema.type === 'object' && !schema.properties) {
    const values = schema.additionalProperties;
    return typeof values === 'object'
      ? `{str: ${typeLabel(values)}}`
      : 'object';
  }
  return schema.type ?? 'any JSON';
}

/** Every way `value` breaks `schema` (an empty list when it fits). */
export function checkValue(
  schema: ISchema,
  value: unknown,
  path = ''
): IFieldError[] {
  if (schema.anyOf) {
    const fits = schema.anyOf.some(
      member => checkValue(member, value, path).length === 0
    );
    return fits ? [] : [fail(path, `must be ${typeLabel(schema)}`)];
  }
  if (schema.enum) {
    const text = JSON.stringify(value);
    const known = schema.enum.some(option => JSON.stringify(option) === text);
    return known ? [] : [fail(path, `must be ${typeLabel(schema)}`)];
  }
  switch (schema.type) {
    case undefined:
      return [];
    case 'integer':
      return Number.isInteger(value)
        ? []
        : [fail(path, 'must be a whole number')];
    case 'number':
      return typeof value === 'number' && isFinite(value)
        ? []
        : [fail(path, 'must be a number')];
    case 'string':
    case 'boolean':
      return typeof value === schema.type
        ? []
        : [fail(path, `must be a ${schema.type}`)];
    case 'null':
      return value === null ? [] : [fail(path, 'must be null')];
    case 'array':
      return checkArray(schema, value, path);
    case 'object':
      return checkObject(schema, value, path);
    default:
      return [];
  }
}

function checkArray(
  schema: ISchema,
  value: unknown,
  path: string
): IFieldError[] {
  if (!Array.isArray(value)) {
    return [fail(path, `must be a list (${typeLabel(schema)})`)];
  }
  const errors: IFieldError[] = [];
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    errors.push(fail(path, `needs at least ${schema.minItems} items`));
  }
  value.forEach((item, i) => {
    const itemSchema = schema.prefixItems?.[i] ?? schema.items;
    if (itemSchema) {
      errors.push(...checkValue(itemSchema, item, joinPath(path, i)));
    }
  });
  return errors;
}

function checkObject(
  schema: ISchema,
  value: unknown,
  path: string
): IFieldError[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return [fail(path, 'must be an object')];
  }
  const record = value as { [key: string]: unknown };
  const properties = schema.properties ?? {};
  const errors: IFieldError[] = [];
  for (const name of schema.required ?? []) {
    if (!(name in record)) {
      errors.push(fail(joinPath(path, name), 'is required'));
    }
  }
  for (const [key, item] of Object.entries(record)) {
    const known = properties[key];
    const extra = schema.additionalProperties;
    if (known) {
      errors.push(...checkValue(known, item, joinPath(path, key)));
    } else if (extra === false) {
      errors.push(fail(joinPath(path, key), 'is not an argument of predict'));
    } else if (typeof extra === 'object') {
      errors.push(...checkValue(extra, item, joinPath(path, key)));
    }
  }
  return errors;
}

function fail(path: string, message: string): IFieldError {
  return { path, message };
}
