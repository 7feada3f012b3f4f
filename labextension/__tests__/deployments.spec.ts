import { Signal } from '@lumino/signaling';
import { describe, expect, it } from 'vitest';

import { DeploymentsModel, lastDeployOf, notebookOf } from '../deployments';
import { Emission } from '../model';
import { BUILD_EVENT_SCHEMA } from '../types';
import { FakeAPI } from './fakeapi';

class Events {
  stream = new Signal<this, Emission>(this);
  emit(name: string, phase: string): void {
    this.stream.emit({
      schema_id: BUILD_EVENT_SCHEMA,
      build_id: 'x',
      name,
      phase,
      url: null,
      message: null
    });
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await new Promise(resolve => setTimeout(resolve, 0));
  }
}

/** A build service with `name` live, generated from `notebook`. */
function deployLive(api: FakeAPI, name: string, notebook: string): void {
  const build = api.start(name, 'build');
  api.advance(build.id, 'live');
  api.files.set(
    `${name}/deploy.json`,
    JSON.stringify({ name, source: { path: notebook, sha256: 'abc' } })
  );
}

describe('DeploymentsModel', () => {
  it('lists every deployment with its notebook and last deploy, sorted by name', async () => {
    // Given two notebooks' deployments
    const api = new FakeAPI();
    deployLive(api, 'spam', 'mail/spam.ipynb');
    deployLive(api, 'iris', 'iris.ipynb');
    const model = new DeploymentsModel(api, null);
    // When the view loads
    await model.refresh();
    // Then both are listed with the notebook each came from
    expect(
      model.rows.map(r => [r.deployment.name, r.deployment.status, r.notebook])
    ).toEqual([
      ['iris', 'live', 'iris.ipynb'],
      ['spam', 'live', 'mail/spam.ipynb']
    ]);
    expect(model.rows[0].lastDeploy).toBe(
      model.rows[0].deployment.versions[0].created_at
    );
  });

  it('reads a live deploy.json once per live build', async () => {
    const api = new FakeAPI();
    deployLive(api, 'iris', 'iris.ipynb');
    const model = new DeploymentsModel(api, null);
    await model.refresh();
    await model.refresh();
    expect(api.calls.filter(c => c === 'file iris deploy.json')).toHaveLength(
      1
    );
  });

  it('refreshes on the build events the panel uses: a new name, and a build that ends', async () => {
    // Given the view loaded with iris
    const api = new FakeAPI();
    const events = new Events();
    deployLive(api, 'iris', 'iris.ipynb');
    const model = new DeploymentsModel(api, events);
    await model.refresh();
    // When another notebook's build starts and ends elsewhere (magics, CLI)
    deployLive(api, 'spam', 'spam.ipynb');
    events.emit('spam', 'queued');
    await settle();
    // Then it shows up without a manual refresh
    expect(model.rows.map(r => r.deployment.name)).toEqual(['iris', 'spam']);
    // And a phase in the middle of a known build does not reload the list
    const before = api.calls.length;
    events.emit('spam', 'building');
    await settle();
    expect(api.calls.length).toBe(before);
    events.emit('spam', 'live');
    await settle();
    expect(api.calls.length).toBeGreaterThan(before);
    model.dispose();
  });

  it('rolls back and deletes by name', async () => {
    const api = new FakeAPI();
    deployLive(api, 'iris', 'iris.ipynb');
    deployLive(api, 'iris', 'iris.ipynb');
    const model = new DeploymentsModel(api, null);
    await model.refresh();
    await model.rollback('iris');
    expect(api.calls).toContain('rollback iris undefined');
    await model.remove('iris');
    expect(api.calls).toContain('delete iris');
    expect(model.rows).toEqual([]);
    expect(model.busy).toBeNull();
  });

  it("shows the server's message when an action is refused", async () => {
    const api = new FakeAPI();
    const model = new DeploymentsModel(api, null);
    await model.rollback('ghost');
    expect(model.error).toBe('No deployment named ghost.');
  });
});

describe('deployment helpers', () => {
  it('reads the source notebook of a deploy.json, null when unreadable', () => {
    expect(notebookOf('{"source": {"path": "a/b.ipynb"}}')).toBe('a/b.ipynb');
    expect(notebookOf('{oops')).toBeNull();
    expect(notebookOf(null)).toBeNull();
  });

  it('takes the newest version as the last deploy', () => {
    const at = (created_at: string, version: number) => ({
      version,
      build_id: `b${version}`,
      status: 'retired' as const,
      created_at
    });
    const deployment = {
      name: 'm',
      url: null,
      status: 'stopped' as const,
      live_version: null,
      live_build: null,
      latest_build: null,
      openapi_url: null,
      versions: [at('2026-01-02T00:00:00Z', 2), at('2026-01-01T00:00:00Z', 1)]
    };
    expect(lastDeployOf(deployment)).toBe('2026-01-02T00:00:00Z');
    expect(lastDeployOf({ ...deployment, versions: [] })).toBeNull();
  });
});
