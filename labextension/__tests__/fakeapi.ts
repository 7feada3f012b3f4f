import { DeployError, IDeployAPI } from '../api';
import { Wire } from '../types';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function at(seconds: number): string {
  return new Date(T0 + seconds * 1000).toISOString();
}

/**
 * A stand-in for the server extension: keeps builds, logs and deployments in
 * memory so model tests can drive a build through its phases.
 */
export class FakeAPI implements IDeployAPI {
  builds = new Map<string, Wire.IBuild>();
  logs = new Map<string, string>();
  deployments = new Map<string, Wire.IDeployment>();
  /** Live files by `name/path`. */
  files = new Map<string, string>();
  previews = new Map<string, Wire.IPreview | DeployError>();
  calls: string[] = [];
  invoked: unknown[] = [];
  private _next = 1;
  private _clock = 0;

  async preview(path: string, name?: string): Promise<Wire.IPreview> {
    this.calls.push(`preview ${path}`);
    const answer = this.previews.get(path);
    if (!answer) {
      throw new DeployError(`No notebook at ${path}.`, 404, 'not_found');
    }
    if (answer instanceof DeployError) {
      throw answer;
    }
    return answer;
  }

  async deploy(path: string, name?: string): Promise<Wire.IBuild> {
    this.calls.push(`deploy ${path} ${name}`);
    const preview = this.previews.get(path);
    const named = preview instanceof DeployError ? undefined : preview?.name;
    return this.start(name ?? named ?? 'model', 'build');
  }

  async endSplit(
    name: string,
    verb: 'promote' | 'abort'
  ): Promise<Wire.ISplitOutcome> {
    this.calls.push(`${verb} ${name}`);
    throw new DeployError(
      `${name} has no canary or shadow running.`,
      409,
      'conflict'
    );
  }

  async getBuild(id: string): Promise<Wire.IBuild> {
    this.calls.push(`build ${id}`);
    const build = this.builds.get(id);
    if (!build) {
      throw new DeployError(`No build ${id}.`, 404, 'not_found');
    }
    return structuredClone(build);
  }

  async getLogs(id: string, offset: number): Promise<Wire.ILogChunk> {
    this.calls.push(`logs ${id} ${offset}`);
    const text = this.logs.get(id) ?? '';
    const build = this.builds.get(id);
    const complete =
      !!build && (build.phase === 'live' || build.phase === 'failed');
    return {
      offset,
      next_offset: text.length,
      text: text.slice(offset),
      complete
    };
  }

  async getDeployment(name: string): Promise<Wire.IDeployment | null> {
    this.calls.push(`deployment ${name}`);
    const found = this.deployments.get(name);
    return found ? structuredClone(found) : null;
  }

  async getLiveFile(name: string, path: Wire.LiveFile): Promise<string | null> {
    this.calls.push(`file ${name} ${path}`);
    return this.files.get(`${name}/${path}`) ?? null;
  }

  async listDeployments(): Promise<Wire.IDeployment[]> {
    this.calls.push('deployments');
    return [...this.deployments.values()].map(d => structuredClone(d));
  }

  async rollback(name: string, version?: number): Promise<Wire.IBuild> {
    this.calls.push(`rollback ${name} ${version}`);
    if (!this.deployments.has(name)) {
      throw new DeployError(`No deployment named ${name}.`, 404, 'not_found');
    }
    return this.start(name, 'rollback', version);
  }

  async remove(name: string): Promise<void> {
    this.calls.push(`delete ${name}`);
    this.deployments.delete(name);
    for (const key of [...this.files.keys()]) {
      if (key.startsWith(`${name}/`)) {
        this.files.delete(key);
      }
    }
  }

  keys: string[] = [];

  async createKey(name: string, label: string): Promise<Wire.INewKey> {
    this.calls.push(`key ${name} ${label}`);
    return { id: 'k1', key: 'secret-key-1', label, restart: null };
  }

  async invoke(
    name: string,
    body: unknown,
    apiKey?: string | null
  ): Promise<Wire.IInvokeResult> {
    this.invoked.push(body);
    this.keys.push(apiKey ?? '');
    return { status: 200, body: { prediction: 0 }, latency_ms: 2.5 };
  }

  /** Start a build of `name` in the queued phase. */
  start(
    name: string,
    kind: 'build' | 'rollback',
    version?: number
  ): Wire.IBuild {
    const id = `b${this._next++}`;
    const previous = this.deployments.get(name)?.versions.length ?? 0;
    const build: Wire.IBuild = {
      id,
      name,
      version: version ?? previous + 1,
      kind,
      phase: 'queued',
      created_at: at(this._clock),
      updated_at: at(this._clock),
      finished_at: null,
      phases: [
        { phase: 'queued', started_at: at(this._clock), finished_at: null }
      ],
      error: null,
      url: null
    };
    this.builds.set(id, build);
    this.logs.set(id, '');
    return structuredClone(build);
  }

  /** Move a build to `phase`, appending `log` to its logs. */
  advance(id: string, phase: Wire.Phase, log = '', message?: string): void {
    const build = this.builds.get(id)!;
    this._clock += 2;
    const last = build.phases[build.phases.length - 1];
    last.finished_at = at(this._clock);
    build.updated_at = at(this._clock);
    this.logs.set(id, (this.logs.get(id) ?? '') + log);
    if (phase === 'failed') {
      build.error = { phase: build.phase, message: message ?? 'failed' };
    } else {
      build.phases.push({
        phase,
        started_at: at(this._clock),
        finished_at: null
      });
    }
    build.phase = phase;
    if (phase === 'live' || phase === 'failed') {
      build.finished_at = at(this._clock);
    }
    if (phase === 'live') {
      build.url = `http://127.0.0.1:9000/${build.name}`;
      this.goLive(build);
    }
  }

  private goLive(build: Wire.IBuild): void {
    const deployment = this.deployments.get(build.name) ?? {
      name: build.name,
      url: build.url,
      status: 'live' as const,
      live_version: null,
      live_build: null,
      openapi_url: `${build.url}/openapi.json`,
      versions: []
    };
    for (const version of deployment.versions) {
      version.status = version.status === 'live' ? 'retired' : version.status;
    }
    const existing = deployment.versions.find(v => v.version === build.version);
    if (existing) {
      existing.status = 'live';
    } else {
      deployment.versions.push({
        version: build.version,
        build_id: build.id,
        status: 'live',
        created_at: build.created_at
      });
    }
    deployment.live_version = build.version;
    deployment.live_build = build.id;
    deployment.status = 'live';
    this.deployments.set(build.name, deployment);
    this.files.set(
      `${build.name}/predict.py`,
      `# v${build.version}\ndef predict(features):\n    return 0\n`
    );
  }
}
