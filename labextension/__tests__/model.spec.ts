import { Signal } from '@lumino/signaling';
import { afterEach, describe, expect, it } from 'vitest';

import { DeployError } from '../api';
import { DeployModel, Emission } from '../model';
import { BUILD_EVENT_SCHEMA, Wire } from '../types';
import { FakeAPI } from './fakeapi';

const PREVIEW: Wire.IPreview = {
  name: 'iris',
  module: '# generated\ndef predict(features):\n    return 0\n',
  requirements: ['scikit-learn==1.7.2'],
  metadata: { example: { features: [5.1, 3.5, 1.4, 0.2] } },
  warnings: [],
  artifacts: []
};

/** A live deploy.json's console part: predict(features: list[float]). */
const LIVE_METADATA = {
  input_schema: {
    type: 'object',
    properties: { features: { type: 'array', items: { type: 'number' } } },
    required: ['features'],
    additionalProperties: false
  },
  example: { features: [5.1, 3.5, 1.4, 0.2] }
};

class Events {
  stream = new Signal<this, Emission>(this);
  emit(build: Wire.IBuild, phase: Wire.Phase): void {
    this.stream.emit({
      schema_id: BUILD_EVENT_SCHEMA,
      build_id: build.id,
      name: build.name,
      phase,
      url: null,
      message: null
    });
  }
}

const models: DeployModel[] = [];

function setUp(): { api: FakeAPI; events: Events; model: DeployModel } {
  const api = new FakeAPI();
  // the server names iris.ipynb "iris" (its preview answer carries the name)
  api.previews.set('iris.ipynb', PREVIEW);
  const events = new Events();
  // a long interval: the tests drive ticks themselves, through events or tick()
  const model = new DeployModel({ api, events, pollInterval: 60_000 });
  models.push(model);
  return { api, events, model };
}

/** Wait until queued promises (the model's async reactions) have run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

afterEach(() => {
  models.splice(0).forEach(model => model.dispose());
});

describe('DeployModel', () => {
  it("takes the default name from the server's preview answer", async () => {
    // Given a server that names examples/2024 model.ipynb "2024-model"
    const { api, model } = setUp();
    api.previews.set('examples/2024 model.ipynb', {
      ...PREVIEW,
      name: '2024-model'
    });
    // When the panel follows that notebook
    model.setNotebook('examples/2024 model.ipynb');
    await settle();
    // Then the panel shows the server's name (no rule of its own) and loads that deployment
    expect(model.name).toBe('2024-model');
    expect(api.calls).toContain('deployment 2024-model');
  });

  it('keeps a name the person typed for that notebook', () => {
    // Given a notebook whose deployment name was edited
    const { model } = setUp();
    model.setNotebook('iris.ipynb');
    model.name = 'iris-prod';
    // When another notebook is shown, then this one again
    model.setNotebook('other.ipynb');
    model.setNotebook('iris.ipynb');
    // Then the edited name comes back
    expect(model.name).toBe('iris-prod');
  });

  it('follows a deployment from queued to live through build events', async () => {
    // Given a notebook and a model listening to build events
    const { api, events, model } = setUp();
    model.setNotebook('iris.ipynb');
    const finished: Wire.IBuild[] = [];
    model.buildFinished.connect((_, build) => finished.push(build));
    // When the person deploys and the server reports each phase
    const build = (await model.deploy())!;
    expect(model.isBuilding).toBe(true);
    for (const phase of ['building', 'starting', 'testing', 'live'] as const) {
      api.advance(build.id, phase, `${phase}...\n`);
      events.emit(build, phase);
      await settle();
    }
    // Then the model shows it live, with all logs once, and reports the end once
    expect(model.build?.phase).toBe('live');
    expect(model.isBuilding).toBe(false);
    expect(model.logs).toBe('building...\nstarting...\ntesting...\nlive...\n');
    expect(finished.map(b => b.phase)).toEqual(['live']);
    expect(model.deployment?.status).toBe('live');
    expect(model.deployment?.url).toBe('http://127.0.0.1:9000/iris');
    expect(await model.liveFile('predict.py')).toContain('def predict');
  });

  it('reads logs from where it stopped', async () => {
    // Given a running build with some logs already read
    const { api, model } = setUp();
    model.setNotebook('iris.ipynb');
    const build = (await model.deploy())!;
    api.advance(build.id, 'building', 'Collecting scikit-learn\n');
    await model.tick();
    // When more logs arrive and the poll ticks again
    api.advance(build.id, 'starting', 'Installed.\n');
    await model.tick();
    // Then the second read asked from the previous end, and the text grew
    const reads = api.calls.filter(call => call.startsWith('logs'));
    expect(reads[reads.length - 1]).toBe(`logs ${build.id} 24`);
    expect(model.logs).toBe('Collecting scikit-learn\nInstalled.\n');
  });

  it('reports a failed build with its phase and message', async () => {
    // Given a build that fails its smoke test
    const { api, events, model } = setUp();
    model.setNotebook('iris.ipynb');
    const finished: Wire.IBuild[] = [];
    model.buildFinished.connect((_, build) => finished.push(build));
    const build = (await model.deploy())!;
    api.advance(build.id, 'building');
    api.advance(build.id, 'testing', 'POST /predict -> 500\n');
    // When the server reports the failure
    api.advance(
      build.id,
      'failed',
      '',
      'The example input made predict() raise ValueError.'
    );
    events.emit(build, 'failed');
    await settle();
    // Then the failing phase, message and logs are there, and the end was reported
    expect(model.build?.error).toEqual({
      phase: 'testing',
      message: 'The example input made predict() raise ValueError.'
    });
    expect(model.logs).toContain('POST /predict -> 500');
    expect(finished).toHaveLength(1);
    expect(model.deployment).toBeNull();
  });

  it('pre-fills the console with the example from the preview', async () => {
    // Given a notebook whose preview has an example
    const { api, model } = setUp();
    api.previews.set('iris.ipynb', PREVIEW);
    model.setNotebook('iris.ipynb');
    // When the person previews it
    await model.runPreview();
    // Then the module is shown and the console holds the example
    expect(model.preview?.module).toContain('def predict');
    expect(JSON.parse(model.console.text)).toEqual({
      features: [5.1, 3.5, 1.4, 0.2]
    });
  });

  it('takes the console form and example from the live deploy.json when the panel opens', async () => {
    // Given iris is live, its deploy.json with an input schema and an example
    const { api, model } = setUp();
    api.previews.set('iris.ipynb', {
      ...PREVIEW,
      metadata: { example: { features: [0, 0, 0, 0] } }
    });
    const build = api.start('iris', 'build');
    api.advance(build.id, 'live');
    api.files.set('iris/deploy.json', JSON.stringify(LIVE_METADATA));
    // When the panel opens on the notebook
    model.setNotebook('iris.ipynb');
    await settle();
    // Then the console is a form of the live schema, holding the live example
    expect(model.deployment?.status).toBe('live');
    expect(model.console.mode).toBe('form');
    expect(model.console.field?.properties?.[0].name).toBe('features');
    expect(JSON.parse(model.console.text)).toEqual({
      features: [5.1, 3.5, 1.4, 0.2]
    });
    expect(api.calls.filter(c => c === 'file iris deploy.json')).toHaveLength(
      1
    );
  });

  it('does not overwrite a request the person edited', async () => {
    // Given an edited console input
    const { api, model } = setUp();
    api.previews.set('iris.ipynb', PREVIEW);
    model.setNotebook('iris.ipynb');
    model.console.setText('{"features": [1, 2, 3, 4]}');
    // When a preview arrives
    await model.runPreview();
    // Then the edit stays
    expect(model.console.text).toBe('{"features": [1, 2, 3, 4]}');
  });

  it("shows the server's message when a preview is refused", async () => {
    // Given a notebook without a predict cell
    const { api, model } = setUp();
    const message = 'No cell is tagged predict in broken.ipynb.';
    api.previews.set(
      'broken.ipynb',
      new DeployError(message, 422, 'no_predict_cell')
    );
    model.setNotebook('broken.ipynb');
    // When the person previews it
    const preview = await model.runPreview();
    // Then there is no preview and the message is shown as it is
    expect(preview).toBeNull();
    expect(model.error).toBe(message);
    expect(model.busy).toBeNull();
  });

  it('rolls back to a version and follows that build to live', async () => {
    // Given two live versions of iris
    const { api, model } = setUp();
    model.setNotebook('iris.ipynb');
    for (let i = 0; i < 2; i++) {
      const build = (await model.deploy())!;
      api.advance(build.id, 'live');
      await model.tick();
    }
    expect(model.deployment?.live_version).toBe(2);
    // When the person rolls back to version 1
    const rollback = (await model.rollback(1))!;
    api.advance(rollback.id, 'starting');
    api.advance(rollback.id, 'live');
    await model.tick();
    // Then version 1 is live again and version 2 is retired
    expect(rollback.kind).toBe('rollback');
    expect(model.deployment?.live_version).toBe(1);
    const statuses = model.deployment?.versions.map(v => [v.version, v.status]);
    expect(statuses).toEqual([
      [1, 'live'],
      [2, 'retired']
    ]);
  });

  it('forgets the deployment once deleted', async () => {
    // Given a live deployment
    const { api, model } = setUp();
    model.setNotebook('iris.ipynb');
    const build = (await model.deploy())!;
    api.advance(build.id, 'live');
    await model.tick();
    // When the person deletes it
    const removed = await model.remove();
    // Then the server was asked and the panel shows no deployment
    expect(removed).toBe(true);
    expect(api.calls).toContain('delete iris');
    expect(model.deployment).toBeNull();
    expect(await model.liveFile('predict.py')).toBeNull();
    expect(model.build).toBeNull();
  });

  it('follows a build of the same name started elsewhere', async () => {
    // Given the panel on iris.ipynb and a build started by %deploy
    const { api, events, model } = setUp();
    model.setNotebook('iris.ipynb');
    await settle();
    const build = api.start('iris', 'build');
    api.advance(build.id, 'building', 'pip install\n');
    // When its event arrives
    events.emit(build, 'building');
    await settle();
    // Then the panel follows it
    expect(model.build?.id).toBe(build.id);
    expect(model.isBuilding).toBe(true);
  });

  it('ignores events of other schemas and other names', async () => {
    // Given the panel on iris.ipynb
    const { api, events, model } = setUp();
    model.setNotebook('iris.ipynb');
    const other = api.start('other', 'build');
    // When unrelated events arrive
    events.stream.emit({
      schema_id: 'https://events.jupyter.org/other/v1',
      name: 'iris'
    });
    events.emit(other, 'building');
    await settle();
    // Then nothing is followed
    expect(model.build).toBeNull();
  });
  it('shows a new API key once, and the console sends it', async () => {
    // Given the panel on a live deployment
    const { api, model } = setUp();
    model.setNotebook('iris.ipynb');
    await settle();
    // When the person creates an API key
    const key = await model.createKey();
    // Then the key is shown (once), the builder was asked, and the console sends it
    expect(key?.key).toBe('secret-key-1');
    expect(model.newKey?.id).toBe('k1');
    expect(api.calls).toContain('key iris panel');
    model.console.setText('{"features": [1, 2, 3, 4]}');
    await model.console.send('iris');
    expect(api.keys).toEqual(['secret-key-1']);
    // And once closed it is not shown again, but still sent in this session
    model.dismissKey();
    expect(model.newKey).toBeNull();
    await model.console.send('iris');
    expect(api.keys).toEqual(['secret-key-1', 'secret-key-1']);
    // And another notebook forgets it
    model.setNotebook('other.ipynb');
    expect(model.console.apiKey).toBeNull();
  });
});
