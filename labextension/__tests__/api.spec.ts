import { ServerConnection } from '@jupyterlab/services';
import { describe, expect, it } from 'vitest';

import { DeployAPI, DeployError } from '../api';

interface ISeen {
  method: string;
  url: string;
  body: string;
}

/** A server stand-in: answers each request from `routes` and records it. */
function fakeServer(
  routes: { [key: string]: { status: number; body?: unknown } },
  seen: ISeen[]
): DeployAPI {
  const fetchFake = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    // ServerConnection adds a cache-busting `?<timestamp>` parameter: leave it out
    const search = url.search.replace(/[?&]\d+$/, '');
    const key = `${request.method} ${url.pathname}${search}`;
    seen.push({
      method: request.method,
      url: request.url,
      body: await request.text()
    });
    const route = routes[key];
    if (!route) {
      return new Response(
        JSON.stringify({ error: 'not_found', message: `no ${key}` }),
        {
          status: 404
        }
      );
    }
    const text = route.body === undefined ? '' : JSON.stringify(route.body);
    return new Response(route.status === 204 ? null : text, {
      status: route.status
    });
  };
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://127.0.0.1:8888/lab-base/',
    fetch: fetchFake as unknown as typeof fetch,
    Request,
    Headers,
    WebSocket: class {} as unknown as typeof WebSocket
  });
  return new DeployAPI(settings);
}

const BASE = '/lab-base/jupyter-deploy/api';

const BUILD = {
  id: 'b1',
  name: 'iris',
  version: 1,
  kind: 'build',
  phase: 'queued',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  finished_at: null,
  phases: [],
  error: null,
  url: null
};

describe('DeployAPI', () => {
  it('posts the notebook path and name to deployments and answers the build', async () => {
    // Given a server that accepts a deployment
    const seen: ISeen[] = [];
    const api = fakeServer(
      { [`POST ${BASE}/deployments`]: { status: 202, body: BUILD } },
      seen
    );
    // When the panel deploys a notebook
    const build = await api.deploy('iris.ipynb', 'iris');
    // Then the request carries the path and name as JSON, and the build comes back
    expect(build.id).toBe('b1');
    expect(seen[0].method).toBe('POST');
    expect(JSON.parse(seen[0].body)).toEqual({
      path: 'iris.ipynb',
      name: 'iris'
    });
  });

  it('reads logs from the given offset', async () => {
    // Given a server with logs for a build
    const seen: ISeen[] = [];
    const chunk = {
      offset: 10,
      next_offset: 25,
      text: 'installing...\n',
      complete: false
    };
    const api = fakeServer(
      {
        [`GET ${BASE}/builds/b1/logs?offset=10`]: { status: 200, body: chunk }
      },
      seen
    );
    // When the model asks for the logs after offset 10
    const answer = await api.getLogs('b1', 10);
    // Then it gets the next chunk and the next offset
    expect(answer.next_offset).toBe(25);
    expect(answer.text).toBe('installing...\n');
  });

  it('shows the server message of an error answer plainly', async () => {
    // Given a server that refuses a notebook without a predict cell
    const seen: ISeen[] = [];
    const message =
      'No cell is tagged predict in broken.ipynb: tag the cell that defines predict().';
    const api = fakeServer(
      {
        [`POST ${BASE}/preview`]: {
          status: 422,
          body: { error: 'no_predict_cell', message }
        }
      },
      seen
    );
    // When the panel previews it
    const failure = await api.preview('broken.ipynb').catch(error => error);
    // Then the error carries the server's message, status and code
    expect(failure).toBeInstanceOf(DeployError);
    expect(failure.message).toBe(message);
    expect(failure.status).toBe(422);
    expect(failure.code).toBe('no_predict_cell');
  });

  it('answers null for a deployment or live file that does not exist', async () => {
    // Given a server that knows no deployment named ghost
    const api = fakeServer({}, []);
    // When the model looks it up
    // Then it gets null instead of an error
    expect(await api.getDeployment('ghost')).toBeNull();
    expect(await api.getLiveFile('ghost', 'predict.py')).toBeNull();
  });

  it('answers a live file by name, and null when nothing is live', async () => {
    // Given a live deployment with a requirements.txt
    const seen: ISeen[] = [];
    const api = fakeServer(
      {
        [`GET ${BASE}/deployments/iris/files/requirements.txt`]: {
          status: 200,
          body: { path: 'requirements.txt', text: 'numpy==2.0.0\n' }
        }
      },
      seen
    );
    // When the diff asks for it, and for a file of a deployment that is not live
    // Then it gets the text, and null for the other
    expect(await api.getLiveFile('iris', 'requirements.txt')).toBe(
      'numpy==2.0.0\n'
    );
    expect(await api.getLiveFile('ghost', 'deploy.json')).toBeNull();
    expect(seen[1].url).toContain('/deployments/ghost/files/deploy.json');
  });

  it('lists every deployment', async () => {
    // Given a build service with one deployment
    const api = fakeServer(
      {
        [`GET ${BASE}/deployments`]: {
          status: 200,
          body: { deployments: [{ name: 'iris', status: 'live' }] }
        }
      },
      []
    );
    // When the Deployments view loads
    const listed = await api.listDeployments();
    // Then it gets the list inside the answer's envelope
    expect(listed.map(d => d.name)).toEqual(['iris']);
  });

  it('escapes names in paths and sends rollback versions', async () => {
    // Given a server that accepts a rollback
    const seen: ISeen[] = [];
    const api = fakeServer(
      {
        [`POST ${BASE}/deployments/my%20model/rollback`]: {
          status: 202,
          body: BUILD
        }
      },
      seen
    );
    // When the panel rolls back to version 1
    await api.rollback('my model', 1);
    // Then the name is escaped and the version is in the body
    expect(JSON.parse(seen[0].body)).toEqual({ version: 1 });
  });

  it('deletes a deployment with a 204 answer', async () => {
    // Given a server that deletes deployments
    const seen: ISeen[] = [];
    const api = fakeServer(
      { [`DELETE ${BASE}/deployments/iris`]: { status: 204 } },
      seen
    );
    // When the panel deletes iris
    await api.remove('iris');
    // Then one DELETE was sent
    expect(seen.map(s => s.method)).toEqual(['DELETE']);
  });

  it('invokes the live service through the server and answers status, body and latency', async () => {
    // Given a server that proxies to the live /predict
    const seen: ISeen[] = [];
    const result = { status: 200, body: { prediction: 0 }, latency_ms: 3.2 };
    const api = fakeServer(
      {
        [`POST ${BASE}/deployments/iris/invoke`]: { status: 200, body: result }
      },
      seen
    );
    // When the console sends the example
    const answer = await api.invoke('iris', { features: [5.1, 3.5, 1.4, 0.2] });
    // Then the body went as JSON and the proxied answer comes back
    expect(JSON.parse(seen[0].body)).toEqual({
      features: [5.1, 3.5, 1.4, 0.2]
    });
    expect(answer).toEqual(result);
  });

  it('explains a non-JSON error answer with its status', async () => {
    // Given a server whose proxy answers HTML
    const fetchFake = async () =>
      new Response('<html>Bad Gateway</html>', { status: 502 });
    const api = new DeployAPI(
      ServerConnection.makeSettings({
        baseUrl: 'http://127.0.0.1:8888/',
        fetch: fetchFake as unknown as typeof fetch,
        Request,
        Headers,
        WebSocket: class {} as unknown as typeof WebSocket
      })
    );
    // When the panel asks for a build
    const failure = await api.getBuild('b1').catch(error => error);
    // Then the message names the status and the text
    expect(failure.message).toContain('502');
    expect(failure.message).toContain('Bad Gateway');
  });
});
