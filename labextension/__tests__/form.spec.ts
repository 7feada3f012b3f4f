import { describe, expect, it } from 'vitest';

import { Draft, draftOf, emptyDraft, fieldOf, valueOf } from '../form/fields';
import { ISchema, checkValue, typeLabel } from '../form/schema';

/**
 * Every shape jupyter_deploy/compiler/schema.py emits, by the annotation it comes from
 * (printed from annotation_schema for each annotation).
 */
const EMITTED: { [annotation: string]: ISchema } = {
  int: { type: 'integer' },
  float: { type: 'number' },
  str: { type: 'string' },
  bool: { type: 'boolean' },
  None: { type: 'null' },
  dict: { type: 'object' },
  'Dict[str, float]': {
    type: 'object',
    additionalProperties: { type: 'number' }
  },
  DataFrame: { type: 'array', items: { type: 'object' } },
  Any: {},
  list: { type: 'array' },
  'list[float]': { type: 'array', items: { type: 'number' } },
  'tuple[int, str]': {
    type: 'array',
    prefixItems: [{ type: 'integer' }, { type: 'string' }],
    minItems: 2
  },
  'Optional[float]': { anyOf: [{ type: 'number' }, { type: 'null' }] },
  'Union[int, str]': { anyOf: [{ type: 'integer' }, { type: 'string' }] },
  "Literal['a', 'b']": { enum: ['a', 'b'] },
  'list[list[float]]': {
    type: 'array',
    items: { type: 'array', items: { type: 'number' } }
  }
};

/** The field kind each shape becomes, and a value that round-trips through its draft. */
const EXPECTED: { [annotation: string]: [string, unknown, string] } = {
  int: ['integer', 3, 'integer'],
  float: ['number', 2.5, 'number'],
  str: ['string', 'hello', 'string'],
  bool: ['boolean', true, 'boolean'],
  None: ['null', null, 'null'],
  dict: ['object', { a: [1, 'x'] }, 'object'],
  'Dict[str, float]': ['object', { a: 1.5, b: 2 }, '{str: number}'],
  DataFrame: ['array', [{ petal: 1.4 }], 'list[object]'],
  Any: ['json', { anything: [true] }, 'any JSON'],
  list: ['array', [1, 'two', null], 'list'],
  'list[float]': ['array', [5.1, 3.5, 1.4, 0.2], 'list[number]'],
  'tuple[int, str]': ['tuple', [1, 'a'], '[integer, string]'],
  'Optional[float]': ['number', 0.7, 'number | null'],
  'Union[int, str]': ['json', 'seven', 'integer | string'],
  "Literal['a', 'b']": ['enum', 'b', 'one of "a", "b"'],
  'list[list[float]]': ['array', [[1], [2, 3]], 'list[list[number]]']
};

describe('schema to form', () => {
  for (const [annotation, schema] of Object.entries(EMITTED)) {
    const [kind, value, label] = EXPECTED[annotation];
    it(`maps ${annotation} to a ${kind} field that gives back its value`, () => {
      // Given the schema the compiler writes for the annotation
      const field = fieldOf(schema);
      // When a value is shown in the form and read back
      const { value: back, errors } = valueOf(field, draftOf(field, value));
      // Then the field has the expected kind and hint, and the value survives unchanged
      expect(field.kind).toBe(kind);
      expect(typeLabel(schema)).toBe(label);
      expect(errors).toEqual([]);
      expect(back).toEqual(value);
    });
  }

  it("maps predict's arguments to required, optional and nested fields", () => {
    // Given predict(x: float, scale: Optional[float] = None, *, opts: dict[str, list[int]], **kw)
    const schema: ISchema = {
      type: 'object',
      properties: {
        x: { type: 'number' },
        scale: { anyOf: [{ type: 'number' }, { type: 'null' }] },
        opts: {
          type: 'object',
          additionalProperties: { type: 'array', items: { type: 'integer' } }
        }
      },
      required: ['x', 'opts'],
      additionalProperties: true
    };
    // When its form is made and filled with the example (scale left out, one extra keyword)
    const field = fieldOf(schema);
    const example = { x: 1.5, opts: { a: [1, 2] }, debug: true };
    const draft = draftOf(field, example);
    // Then the arguments are fields, required ones first in argument order, scale optional and nullable, opts a nested map,
    // **kw extra keys of any JSON; the optional argument is left out of the body
    expect(
      field.properties!.map(p => [p.name, p.required, p.field.kind])
    ).toEqual([
      ['x', true, 'number'],
      ['opts', true, 'object'],
      ['scale', false, 'number']
    ]);
    expect(field.properties![2].field.nullable).toBe(true);
    expect(field.properties![1].field.extra!.kind).toBe('array');
    expect(field.extra!.kind).toBe('json');
    expect(draft.t === 'object' && draft.props.scale).toBeUndefined();
    expect(valueOf(field, draft)).toEqual({ value: example, errors: [] });
  });

  it("orders a live deploy.json's sorted properties as predict's arguments", () => {
    // Given deploy.json's schema of predict(x, weights, scale=None): keys sorted on disk
    const field = fieldOf({
      type: 'object',
      properties: {
        scale: { type: 'number' },
        weights: { type: 'object' },
        x: { type: 'number' }
      },
      required: ['x', 'weights'],
      additionalProperties: false
    });
    // Then the form follows the required list's order, the optional argument last
    expect(field.properties!.map(p => p.name)).toEqual([
      'x',
      'weights',
      'scale'
    ]);
  });

  it('starts an empty form with required fields, optional ones left out', () => {
    const field = fieldOf({
      type: 'object',
      properties: { n: { type: 'integer' }, tag: { type: 'string' } },
      required: ['n'],
      additionalProperties: false
    });
    const draft = emptyDraft(field);
    expect(draft).toEqual({
      t: 'object',
      props: { n: { t: 'text', text: '' }, tag: undefined },
      extra: []
    });
    expect(field.extra).toBeNull();
  });
});

describe('inline validation', () => {
  const field = fieldOf({
    type: 'object',
    properties: {
      n: { type: 'integer' },
      features: { type: 'array', items: { type: 'number' } },
      mode: { enum: ['fast', 'exact'] },
      pair: { anyOf: [{ type: 'integer' }, { type: 'string' }] }
    },
    required: ['n', 'features', 'mode', 'pair'],
    additionalProperties: false
  });

  it('names each wrong field and why before anything is sent', () => {
    // Given a form where a person typed a fraction, a word, a bad choice and a list
    const draft: Draft = {
      t: 'object',
      props: {
        n: { t: 'text', text: '2.5' },
        features: {
          t: 'list',
          items: [
            { t: 'text', text: '5.1' },
            { t: 'text', text: 'abc' }
          ]
        },
        mode: { t: 'text', text: '"slow"' },
        pair: { t: 'text', text: '[1]' }
      },
      extra: [{ key: '', value: { t: 'text', text: '1' } }]
    };
    // When it is read
    const { errors } = valueOf(field, draft);
    // Then every problem names its path
    expect(errors).toEqual([
      { path: 'n', message: '2.5 is not a whole number' },
      { path: 'features.1', message: '"abc" is not a number' },
      { path: 'mode', message: 'must be one of "fast", "exact"' },
      { path: 'pair', message: 'must be integer | string' },
      { path: '#1', message: 'give the key a name' }
    ]);
  });

  it('checks a raw JSON body against the schema', () => {
    // Given the JSON view's body with a missing argument, a wrong item and an unknown key
    const body = { n: 3.0, features: [1, '2'], mode: 'fast', extra: 1 };
    // When it is checked
    const errors = checkValue(field.schema, body);
    // Then the problems name their paths (3.0 parses to 3: a whole number)
    expect(errors).toEqual([
      { path: 'pair', message: 'is required' },
      { path: 'features.1', message: 'must be a number' },
      { path: 'extra', message: 'is not an argument of predict' }
    ]);
  });

  it('refuses null where the argument is not optional', () => {
    const number = fieldOf({ type: 'number' });
    expect(valueOf(number, { t: 'null' }).errors).toEqual([
      { path: '', message: 'must not be null' }
    ]);
    expect(checkValue({ type: 'number' }, null)).toEqual([
      { path: '', message: 'must be a number' }
    ]);
  });
});
