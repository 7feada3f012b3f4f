/**
 * The only module that talks HTTP: the server extension's REST API under
 * `{base_url}jupyter-deploy/api/`.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { TrafficWire } from './trafficTypes';
import { Wire } from './types';

/** An error answered by the server (`{"error", "message"}`) or the network. */
export class DeployError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string
  ) {
    super(message);
    this.name = 'DeployError';
  }
}

/** What the model needs from the REST API (a fake can stand in for tests). */
export interface IDeployAPI {
  preview(path: string, name?: string): Promise<Wire.IPreview>;
  deploy(
    path: string,
    name?: string,
    rollout?: Wire.IRollout
  ): Promise<Wire.IBuild>;
  endSplit(
    name: string,
    verb: 'promote' | 'abort'
  ): Promise<Wire.ISplitOutcome>;
  getBuild(id: string): Promise<Wire.IBuild>;
  getLogs(id: string, offset: number): Promise<Wire.ILogChunk>;
  getDeployment(name: string): Promise<Wire.IDeployment | null>;
  getLiveFile(name: string, path: Wire.LiveFile): Promise<string | null>;
  listDeployments(): Promise<Wire.IDeployment[]>;
  rollback(name: string, version?: number): Promise<Wire.IBuild>;
  remove(name: string): Promise<void>;
  invoke(
    name: string,
    body: unknown,
    apiKey?: string | null
  ): Promise<Wire.IInvokeResult>;
  createKey(name: string, label: string): Promise<Wire.INewKey>;
}

/** The REST client of the jupyter-deploy server extension. */
export class DeployAPI implements IDeployAPI {
  readonly serverSettings: ServerConnection.ISettings;

  constructor(serverSettings?: ServerConnection.ISettings) {
    this.serverSettings = serverSettings ?? ServerConnection.makeSettings();
  }

  preview(path: string, name?: string): Promise<Wire.IPreview> {
    return this.request('preview', { method: 'POST', body: { path, name } });
  }

  deploy(
    path: string,
    name?: string,
    rollout?: Wire.IRollout
  ): Promise<Wire.IBuild> {
    return this.request('deployments', {
      method: 'POST',
      body: { path, name, ...rollout }
    });
  }

  endSplit(
    name: string,
    verb: 'promote' | 'abort'
  ): Promise<Wire.ISplitOutcome> {
    return this.request(`deployments/${enc(name)}/${verb}`, {
      method: 'POST',
      body: {}
    });
  }

  getBuild(id: string): Promise<Wire.IBuild> {
    return this.request(`builds/${enc(id)}`);
  }

  getLogs(id: string, offset: number): Promise<Wire.ILogChunk> {
    return this.request(`builds/${enc(id)}/logs?offset=${offset}`);
  }

  getDeployment(name: string): Promise<Wire.IDeployment | null> {
    return this.request<Wire.IDeployment>(`deployments/${enc(name)}`).catch(
      notFoundAsNull
    );
  }

  /** A text file of the live version (null when nothing is live). */
  async getLiveFile(name: string, path: Wire.LiveFile): Promise<string | null> {
    const answer = await this.request<{ text: string }>(
      `deployments/${enc(name)}/files/${enc(path)}`
    ).catch(notFoundAsNull);
    return answer ? answer.text : null;
  }

  /** Every deployment the build service knows. */
  async listDeployments(): Promise<Wire.IDeployment[]> {
    const answer = await this.request<{ deployments: Wire.IDeployment[] }>(
      'deployments'
    );
    return answer.deployments;
  }

  rollback(name: string, version?: number): Promise<Wire.IBuild> {
    const body = version === undefined ? {} : { version };
    return this.request(`deployments/${enc(name)}/rollback`, {
      method: 'POST',
      body
    });
  }

  async remove(name: string): Promise<void> {
    await this.request(`deployments/${enc(name)}`, { method: 'DELETE' });
  }

  invoke(
    name: string,
    body: unknown,
    apiKey?: string | null
  ): Promise<Wire.IInvokeResult> {
    return this.request(`deployments/${enc(name)}/invoke`, {
      method: 'POST',
      body,
      headers: apiKey ? { 'X-API-Key': apiKey } : {}
    });
  }

  createKey(name: string, label: string): Promise<Wire.INewKey> {
    return this.request(`deployments/${enc(name)}/keys`, {
      method: 'POST',
      body: { label }
    });
  }

  /** Send one request; answer the parsed JSON or throw a DeployError. */
  async request<T>(
    endpoint: string,
    options: {
      method?: string;
      body?: unknown;
      headers?: { [name: string]: string };
    } = {}
  ): Promise<T> {
    const url = URLExt.join(
      this.serverSettings.baseUrl,
      'jupyter-deploy/api',
      endpoint
    );
    const init: RequestInit = { method: options.method ?? 'GET' };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = {
        'Content-Type': 'application/json',
        ...(options.headers ?? {})
      };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        url,
        init,
        this.serverSettings
      );
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DeployError(
        `Could not reach the Jupyter server: ${reason}`,
        0,
        'network'
      );
    }
    const text = await response.text();
    const data = parseJSON(text);
    if (!response.ok) {
      throw errorFrom(response.status, data, text);
    }
    return data as T;
  }
}

function enc(part: string): string {
  return encodeURIComponent(part);
}

function parseJSON(text: string): unknown {
  if (!text) {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Turn an error answer into a DeployError with the server's own message. */
export function errorFrom(
  status: number,
  data: unknown,
  text: string
): DeployError {
  if (data && typeof data === 'object') {
    const body = data as { error?: unknown; message?: unknown };
    if (typeof body.message === 'string' && body.message) {
      const code = typeof body.error === 'string' ? body.error : 'error';
      return new DeployError(body.message, status, code);
    }
  }
  const detail = text.trim().slice(0, 300) || 'no details';
  return new DeployError(
    `The server answered ${status}: ${detail}`,
    status,
    'http_error'
  );
}

function notFoundAsNull(error: unknown): null {
  if (error instanceof DeployError && error.status === 404) {
    return null;
  }
  throw error;
}

/** The traffic reads and "compare with notebook" of a deployment (docs/traffic.md). */
export interface ITrafficAPI {
  traffic(name: string, minutes?: number): Promise<TrafficWire.ITraffic>;
  requests(
    name: string,
    limit?: number,
    status?: string
  ): Promise<TrafficWire.IRequests>;
  startCompare(
    name: string,
    last: number,
    path?: string
  ): Promise<TrafficWire.IComparison>;
  getCompare(name: string): Promise<TrafficWire.IComparison>;
  cancelCompare(name: string): Promise<TrafficWire.IComparison>;
}

/** The REST client of the traffic routes (the same server extension). */
export class TrafficAPI extends DeployAPI implements ITrafficAPI {
  traffic(name: string, minutes = 60): Promise<TrafficWire.ITraffic> {
    return this.request(`deployments/${enc(name)}/traffic?minutes=${minutes}`);
  }

  requests(
    name: string,
    limit = 20,
    status = ''
  ): Promise<TrafficWire.IRequests> {
    const query = `limit=${limit}&status=${encodeURIComponent(status)}`;
    return this.request(`deployments/${enc(name)}/requests?${query}`);
  }

  startCompare(
    name: string,
    last: number,
    path?: string
  ): Promise<TrafficWire.IComparison> {
    return this.request(`deployments/${enc(name)}/compare`, {
      method: 'POST',
      body: { last, path }
    });
  }

  getCompare(name: string): Promise<TrafficWire.IComparison> {
    return this.request(`deployments/${enc(name)}/compare`);
  }

  cancelCompare(name: string): Promise<TrafficWire.IComparison> {
    return this.request(`deployments/${enc(name)}/compare`, {
      method: 'DELETE'
    });
  }
}

/** A message to show a person for any error. */
export function messageOf(error: unknown): string {
  if (error instanceof DeployError) {
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
