import { describe, expect, it } from 'vitest';

import { DeployError } from '../api';
import { ConsoleModel } from '../console';
import { Draft } from '../form/fields';
import { FakeAPI } from './fakeapi';

/** predict(x: float, scale: Optional[float] = None, opts: dict[str, list[int]]) */
const METADATA = {
  input_schema: {
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
    additionalProperties: false
  },
  example: { x: 1.5, opts: { a: [1, 2] } }
};

function setUp(): { api: FakeAPI; console: ConsoleModel; changes: number[] } {
  const api = new FakeAPI();
  const changes: number[] = [];
  const console = new ConsoleModel(api, () => changes.push(1));
  console.setSource(METADATA, 'live');
  return { api, console, changes };
}

describe('ConsoleModel', () => {
  it('starts as a form of the schema, filled with the example', () => {
    const { console } = setUp();
    expect(console.mode).toBe('form');
    expect(console.draft).toEqual({
      t: 'object',
      props: {
        x: { t: 'text', text: '1.5' },
        scale: undefined,
        opts: {
          t: 'object',
          props: {},
          extra: [
            {
              key: 'a',
              value: {
                t: 'list',
                items: [
                  { t: 'text', text: '1' },
                  { t: 'text', text: '2' }
                ]
              }
            }
          ]
        }
      },
      extra: []
    });
    expect(console.errors).toEqual([]);
  });

  it('keeps the JSON body in step with the form, and the form with the JSON', () => {
    // Given the form with the optional scale set
    const { console } = setUp();
    const draft = console.draft as Extract<Draft, { t: 'object' }>;
    console.setDraft({
      ...draft,
      props: { ...draft.props, scale: { t: 'text', text: '2' } }
    });
    // Then the JSON view shows the body with scale
    expect(JSON.parse(console.text)).toEqual({
      x: 1.5,
      scale: 2,
      opts: { a: [1, 2] }
    });
    // When the JSON is edited to a null scale and the view goes back to the form
    console.setMode('json');
    console.setText('{"x": 3, "scale": null, "opts": {}}');
    console.setMode('form');
    // Then the form shows it
    expect(console.mode).toBe('form');
    expect((console.draft as any).props.scale).toEqual({ t: 'null' });
    expect((console.draft as any).props.x).toEqual({ t: 'text', text: '3' });
  });

  it('sends nothing while the request has a problem, and says where', async () => {
    // Given a form where x is not a number
    const { api, console } = setUp();
    const draft = console.draft as Extract<Draft, { t: 'object' }>;
    console.setDraft({
      ...draft,
      props: { ...draft.props, x: { t: 'text', text: 'abc' } }
    });
    // When Send is asked for
    const result = await console.send('m');
    // Then nothing went out and the field's problem is named
    expect(result).toBeNull();
    expect(api.invoked).toEqual([]);
    expect(console.errors).toEqual([
      { path: 'x', message: '"abc" is not a number' }
    ]);
  });

  it('refuses JSON that does not parse and stays in the JSON view', async () => {
    const { api, console } = setUp();
    console.setMode('json');
    console.setText('{"x": 1,');
    console.setMode('form');
    expect(console.mode).toBe('json');
    expect(console.errors[0].message).toContain('not valid JSON');
    expect(await console.send('m')).toBeNull();
    expect(api.invoked).toEqual([]);
  });

  it('sends the request, keeps the answer and lists it in the history', async () => {
    const { api, console } = setUp();
    const result = await console.send('m');
    expect(api.invoked).toEqual([{ x: 1.5, opts: { a: [1, 2] } }]);
    expect(result).toEqual({
      status: 200,
      body: { prediction: 0 },
      latency_ms: 2.5
    });
    expect(console.result).toEqual(result);
    expect(console.historyOf('m').map(e => e.body)).toEqual([
      { x: 1.5, opts: { a: [1, 2] } }
    ]);
    expect(console.historyOf('other')).toEqual([]);
  });

  it('replays a request from the history: back in the console, sent again', async () => {
    // Given two requests sent, the second one different
    const { api, console } = setUp();
    await console.send('m');
    console.setText('{"x": 9, "opts": {}}');
    await console.send('m');
    // When the first one is replayed
    const first = console.historyOf('m')[1];
    await console.replay(first);
    // Then its body is in the console again and went out a third time
    expect(JSON.parse(console.text)).toEqual({ x: 1.5, opts: { a: [1, 2] } });
    expect(api.invoked).toHaveLength(3);
    expect(api.invoked[2]).toEqual({ x: 1.5, opts: { a: [1, 2] } });
    expect(console.historyOf('m')).toHaveLength(3);
  });

  it('keeps a request that got no answer, with the reason', async () => {
    const { api, console } = setUp();
    api.invoke = async () => {
      throw new DeployError('m has no live URL yet.', 409, 'conflict');
    };
    expect(await console.send('m')).toBeNull();
    expect(console.sendError).toBe('m has no live URL yet.');
    expect(console.historyOf('m')[0].error).toBe('m has no live URL yet.');
  });

  it("lets a live schema win over a preview and keeps the person's edits", () => {
    const { console } = setUp();
    console.setText('{"x": 2, "opts": {}}');
    console.setSource(
      { input_schema: { type: 'object' }, example: {} },
      'preview'
    );
    expect(console.field?.properties?.map(p => p.name)).toEqual([
      'x',
      'opts',
      'scale'
    ]);
    console.setSource({ ...METADATA, example: { x: 7, opts: {} } }, 'live');
    expect(JSON.parse(console.text)).toEqual({ x: 2, opts: {} });
  });
});
