/**
 * State of the Deploy panel for the current notebook, with signals. Fed by the
 * server's build events; a backing-off poll is the fallback while a build runs.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { IDeployAPI, messageOf } from './api';
import { ConsoleModel, IConsoleMetadata } from './console';
import { BUILD_EVENT_SCHEMA, Wire, isTerminal } from './types';

/** An event emission as jupyter_events sends it: the schema id and the data. */
export type Emission = { schema_id: string; [key: string]: any };

/** The part of JupyterLab's event manager the model listens to. */
export interface IEventSource {
  readonly stream: ISignal<any, Emission>;
}

/** What the panel is busy with, if anything. */
export type Busy =
  'preview' | 'deploy' | 'rollback' | 'delete' | 'promote' | 'abort' | 'key';

/** How many log chunks to read at most in one tick. */
const MAX_LOG_READS = 50;

export namespace DeployModel {
  export interface IOptions {
    api: IDeployAPI;
    /** The server's event stream (`app.serviceManager.events`). */
    events?: IEventSource | null;
    /** Milliseconds between polls while a build runs (default 1000). */
    pollInterval?: number;
  }
}

/** The Deploy panel's state. */
export class DeployModel implements IDisposable {
  constructor(options: DeployModel.IOptions) {
    this._api = options.api;
    this._events = options.events ?? null;
    this._events?.stream.connect(this._onEvent, this);
    this._poll = this._makePoll(options.pollInterval ?? 1000);
    this.console = new ConsoleModel(this._api, () => this._emit());
  }

  /** The test console of the current deployment. */
  readonly console: ConsoleModel;

  /** Emitted whenever any state changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted once when a followed build reaches `live` or `failed`. */
  get buildFinished(): ISignal<this, Wire.IBuild> {
    return this._buildFinished;
  }

  get notebookPath(): string | null {
    return this._path;
  }

  get name(): string {
    return this._name;
  }

  set name(value: string) {
    if (value === this._name) {
      return;
    }
    this._name = value;
    if (this._path) {
      this._names.set(this._path, value);
    }
    this._emit();
  }

  get preview(): Wire.IPreview | null {
    return this._preview;
  }

  get build(): Wire.IBuild | null {
    return this._build;
  }

  get logs(): string {
    return this._logs;
  }

  get deployment(): Wire.IDeployment | null {
    return this._deployment;
  }

  get error(): string | null {
    return this._error;
  }

  get busy(): Busy | null {
    return this._busy;
  }

  /** Whether a followed build is still running. */
  get isBuilding(): boolean {
    return !!this._build && !isTerminal(this._build.phase);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Follow another notebook (or none). The name is the one typed for it, or else the server's
   * default (the preview answers it: one rule, kept by the server).
   */
  setNotebook(path: string | null): void {
    if (path === this._path) {
      return;
    }
    this._path = path;
    this._name = path ? (this._names.get(path) ?? '') : '';
    this._preview = null;
    this._build = null;
    this._logs = '';
    this._logOffset = 0;
    this._deployment = null;
    this._error = null;
    this._consoleBuild = null;
    this.console.reset();
    this._newKey = null;
    this._emit();
    if (path) {
      void this._learnName(path);
    }
  }

  /** Milliseconds between polls while a build runs. */
  setPollInterval(ms: number): void {
    const interval = Math.max(200, ms);
    const max = Math.max(30_000, interval);
    this._poll.frequency = { ...this._poll.frequency, interval, max };
  }

  /** Generate the module without deploying. */
  async runPreview(): Promise<Wire.IPreview | null> {
    const path = this._path;
    if (!path) {
      return this._fail('Open a notebook first.');
    }
    return this._run('preview', async () => {
      const preview = await this._api.preview(path, this._nameOrUndefined());
      if (path !== this._path) {
        return preview;
      }
      this._preview = preview;
      this._takeName(preview);
      this.console.setSource(preview.metadata, 'preview');
      return preview;
    });
  }

  /** Deploy the current notebook (as a canary or shadow with `rollout`); the build. */
  async deploy(rollout?: Wire.IRollout): Promise<Wire.IBuild | null> {
    const path = this._path;
    if (!path) {
      return this._fail('Open a notebook first.');
    }
    return this._run('deploy', async () => {
      const name = this._nameOrUndefined();
      const build = await this._api.deploy(path, name, rollout);
      if (build.name && build.name !== this._name) {
        this._name = build.name;
      }
      this._follow(build);
      if (!this._preview) {
        void this._quietPreview(path);
      }
      return build;
    });
  }

  /** End the running canary or shadow: promote the new version, or abort it. */
  async endSplit(
    verb: 'promote' | 'abort'
  ): Promise<Wire.ISplitOutcome | null> {
    const name = this._name;
    const outcome = await this._run(verb, () => this._api.endSplit(name, verb));
    await this.refreshDeployment();
    return outcome;
  }

  /** A new API key of the deployment, shown once; the console and the snippets use it. */
  async createKey(label = 'panel'): Promise<Wire.INewKey | null> {
    const name = this._name;
    return this._run('key', async () => {
      const key = await this._api.createKey(name, label);
      this.console.apiKey = key.key;
      this._newKey = key;
      if (key.restart) {
        this._follow(key.restart); // the live version restarts with the key
      }
      return key;
    });
  }

  /** The key just made (until the person has copied it and closed the box). */
  get newKey(): Wire.INewKey | null {
    return this._newKey;
  }

  dismissKey(): void {
    this._newKey = null;
    this._emit();
  }

  /** Roll back to a version (the previous one when not given). */
  async rollback(version?: number): Promise<Wire.IBuild | null> {
    const name = this._name;
    return this._run('rollback', async () => {
      const build = await this._api.rollback(name, version);
      this._follow(build);
      return build;
    });
  }

  /** Delete the deployment: its URL stops answering. */
  async remove(): Promise<boolean> {
    const name = this._name;
    const done = await this._run('delete', async () => {
      await this._api.remove(name);
      this._build = null;
      this._logs = '';
      this._logOffset = 0;
      this._deployment = null;
      return true;
    });
    return done ?? false;
  }

  /** Reload the deployment of the current name. */
  async refreshDeployment(): Promise<void> {
    const name = this._name;
    if (!name) {
      return;
    }
    try {
      const deployment = await this._api.getDeployment(name);
      if (name !== this._name) {
        return;
      }
      this._deployment = deployment;
      this._emit();
      await this._loadConsoleSource(name, deployment);
    } catch (error) {
      this._fail(messageOf(error));
    }
  }

  /** A text file of the live version of the current name (null when nothing is live). */
  liveFile(path: Wire.LiveFile): Promise<string | null> {
    return this._name
      ? this._api.getLiveFile(this._name, path)
      : Promise.resolve(null);
  }

  /** Read the followed build's state and new logs (the poll calls this). */
  async tick(): Promise<void> {
    if (this._ticking) {
      this._tickAgain = true;
      return this._ticking;
    }
    this._ticking = this._tickLoop();
    try {
      await this._ticking;
    } finally {
      this._ticking = null;
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._events?.stream.disconnect(this._onEvent, this);
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _tickLoop(): Promise<void> {
    do {
      this._tickAgain = false;
      await this._tickOnce();
    } while (this._tickAgain);
  }

  private async _tickOnce(): Promise<void> {
    const followed = this._build;
    if (!followed || this._finished.has(followed.id)) {
      return;
    }
    const build = await this._api.getBuild(followed.id);
    if (this._build?.id !== build.id) {
      return;
    }
    this._build = build;
    await this._readLogs(build.id, isTerminal(build.phase));
    this._emit();
    if (isTerminal(build.phase)) {
      this._finished.add(build.id);
      await this.refreshDeployment();
      this._buildFinished.emit(build);
    }
  }

  private async _readLogs(id: string, toTheEnd: boolean): Promise<void> {
    for (let i = 0; i < MAX_LOG_READS; i++) {
      const chunk = await this._api.getLogs(id, this._logOffset);
      if (this._build?.id !== id) {
        return;
      }
      this._logs += chunk.text;
      const moved = chunk.next_offset !== this._logOffset;
      this._logOffset = chunk.next_offset;
      if (!toTheEnd || chunk.complete || !moved) {
        return;
      }
    }
  }

  private _follow(build: Wire.IBuild): void {
    this._build = build;
    this._logs = '';
    this._logOffset = 0;
    this._emit();
    void this._poll.refresh();
  }

  private _onEvent(_: unknown, emission: Emission): void {
    if (emission.schema_id !== BUILD_EVENT_SCHEMA) {
      return;
    }
    const data = (emission.data ?? emission) as Wire.IBuildEvent;
    const build = this._build;
    if (build && data.build_id === build.id) {
      if (!this._finished.has(build.id) && build.phase !== data.phase) {
        this._build = {
          ...build,
          phase: data.phase,
          url: data.url ?? build.url
        };
        this._emit();
      }
      void this.tick().catch(error => this._fail(messageOf(error)));
    } else if (data.name && data.name === this._name) {
      void this._adopt(data);
    }
  }

  /** Follow a build of this name started elsewhere (magics, CLI, another tab). */
  private async _adopt(data: Wire.IBuildEvent): Promise<void> {
    if (isTerminal(data.phase) || this.isBuilding) {
      await this.refreshDeployment();
      return;
    }
    try {
      const build = await this._api.getBuild(data.build_id);
      if (build.name === this._name && !this.isBuilding) {
        this._follow(build);
      }
    } catch (error) {
      this._fail(messageOf(error));
    }
  }

  private _makePoll(interval: number): Poll {
    return new Poll({
      auto: true,
      factory: async () => {
        if (this.isBuilding) {
          await this.tick();
        }
      },
      frequency: {
        interval: Math.max(200, interval),
        backoff: true,
        max: Math.max(30_000, interval)
      },
      name: 'jupyter-deploy:build',
      standby: () => (this.isBuilding ? 'when-hidden' : true)
    });
  }

  private async _run<T>(
    busy: Busy,
    action: () => Promise<T>
  ): Promise<T | null> {
    this._busy = busy;
    this._error = null;
    this._emit();
    try {
      return await action();
    } catch (error) {
      this._error = messageOf(error);
      return null;
    } finally {
      this._busy = null;
      this._emit();
    }
  }

  private _fail(message: string): null {
    this._error = message;
    this._emit();
    return null;
  }

  /** Preview without showing errors: fills the console's example input. */
  private async _quietPreview(path: string): Promise<void> {
    try {
      const preview = await this._api.preview(path, this._nameOrUndefined());
      if (path === this._path && !this._preview) {
        this._preview = preview;
        this._takeName(preview);
        this.console.setSource(preview.metadata, 'preview');
        this._emit();
      }
    } catch {
      // the explicit Preview button shows errors; this one only fills the example
    }
  }

  /** The server's default name, unless the person typed one. */
  private _takeName(preview: Wire.IPreview): void {
    if (!this._name && preview.name) {
      this._name = preview.name;
    }
  }

  /** Learn the default name from the server, then load that deployment. */
  private async _learnName(path: string): Promise<void> {
    if (!this._name) {
      await this._quietPreview(path);
    }
    if (path === this._path) {
      await this.refreshDeployment();
    }
  }

  /** The console's schema and example from the live deploy.json, once per live build. */
  private async _loadConsoleSource(
    name: string,
    deployment: Wire.IDeployment | null
  ): Promise<void> {
    const build = deployment?.live_build ?? null;
    if (!build || build === this._consoleBuild) {
      return;
    }
    this._consoleBuild = build;
    const text = await this._api.getLiveFile(name, 'deploy.json');
    if (text && name === this._name) {
      this.console.setSource(JSON.parse(text) as IConsoleMetadata, 'live');
    }
  }

  private _nameOrUndefined(): string | undefined {
    return this._name.trim() || undefined;
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _api: IDeployAPI;
  private _events: IEventSource | null;
  private _poll: Poll;
  private _path: string | null = null;
  private _name = '';
  private _newKey: Wire.INewKey | null = null;
  private _names = new Map<string, string>();
  private _preview: Wire.IPreview | null = null;
  private _build: Wire.IBuild | null = null;
  private _finished = new Set<string>();
  private _logs = '';
  private _logOffset = 0;
  private _deployment: Wire.IDeployment | null = null;
  private _error: string | null = null;
  private _busy: Busy | null = null;
  private _consoleBuild: string | null = null;
  private _ticking: Promise<void> | null = null;
  private _tickAgain = false;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _buildFinished = new Signal<this, Wire.IBuild>(this);
}
