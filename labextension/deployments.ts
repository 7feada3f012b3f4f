/**
 * Every deployment the build service knows, for the Deployments view: refreshed by the same
 * build events the panel follows, with each one's source notebook from its live deploy.json.
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { IDeployAPI, messageOf } from './api';
import { Emission, IEventSource } from './model';
import { BUILD_EVENT_SCHEMA, Wire, isTerminal } from './types';

/** One deployment as the view lists it. */
export interface IDeploymentRow {
  deployment: Wire.IDeployment;
  /** The notebook the live version was generated from (deploy.json `source.path`). */
  notebook: string | null;
  /** When its newest version was made (ISO time). */
  lastDeploy: string | null;
}

/** The newest version's creation time. */
export function lastDeployOf(deployment: Wire.IDeployment): string | null {
  const times = deployment.versions.map(v => v.created_at).sort();
  return times.length ? times[times.length - 1] : null;
}

/** The source notebook named in a deploy.json text. */
export function notebookOf(deployJson: string | null): string | null {
  if (!deployJson) {
    return null;
  }
  try {
    const path = JSON.parse(deployJson)?.source?.path;
    return typeof path === 'string' ? path : null;
  } catch {
    return null;
  }
}

export class DeploymentsModel implements IDisposable {
  constructor(api: IDeployAPI, events: IEventSource | null) {
    this._api = api;
    this._events = events;
    events?.stream.connect(this._onEvent, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get rows(): IDeploymentRow[] {
    return this._rows;
  }

  get loaded(): boolean {
    return this._loaded;
  }

  get error(): string | null {
    return this._error;
  }

  /** The deployment an action (rollback, delete) is running for. */
  get busy(): string | null {
    return this._busy;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Load the list again (the source notebooks of unchanged live builds are remembered). */
  async refresh(): Promise<void> {
    const generation = ++this._generation;
    try {
      const deployments = await this._api.listDeployments();
      const rows = await Promise.all(deployments.map(d => this._row(d)));
      if (generation !== this._generation) {
        return; // a later refresh is on its way
      }
      this._rows = rows.sort((a, b) =>
        a.deployment.name.localeCompare(b.deployment.name)
      );
      this._error = null;
    } catch (error) {
      this._error = messageOf(error);
    }
    this._loaded = true;
    this._emit();
  }

  /** Roll a deployment back to its previous version (the build's events refresh the list). */
  async rollback(name: string): Promise<void> {
    await this._act(name, () => this._api.rollback(name));
  }

  /** Delete a deployment. */
  async remove(name: string): Promise<void> {
    await this._act(name, () => this._api.remove(name));
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._events?.stream.disconnect(this._onEvent, this);
    Signal.clearData(this);
  }

  private async _row(deployment: Wire.IDeployment): Promise<IDeploymentRow> {
    const build = deployment.live_build;
    let notebook: string | null = null;
    if (build) {
      if (!this._notebooks.has(build)) {
        const text = await this._api.getLiveFile(
          deployment.name,
          'deploy.json'
        );
        this._notebooks.set(build, notebookOf(text));
      }
      notebook = this._notebooks.get(build) ?? null;
    }
    return { deployment, notebook, lastDeploy: lastDeployOf(deployment) };
  }

  private async _act(
    name: string,
    action: () => Promise<unknown>
  ): Promise<void> {
    this._busy = name;
    this._error = null;
    this._emit();
    let failure: string | null = null;
    try {
      await action();
    } catch (error) {
      failure = messageOf(error);
    } finally {
      this._busy = null;
    }
    await this.refresh();
    if (failure) {
      this._error = failure; // the reload must not hide why the action failed
      this._emit();
    }
  }

  private _onEvent(_: unknown, emission: Emission): void {
    if (emission.schema_id !== BUILD_EVENT_SCHEMA || !this._loaded) {
      return;
    }
    const data = (emission.data ?? emission) as Wire.IBuildEvent;
    const known = this._rows.some(row => row.deployment.name === data.name);
    // a new name shows up at once; a known one changes status when its build ends
    if (!known || isTerminal(data.phase) || data.phase === 'queued') {
      void this.refresh();
    }
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _api: IDeployAPI;
  private _events: IEventSource | null;
  private _rows: IDeploymentRow[] = [];
  private _notebooks = new Map<string, string | null>();
  private _generation = 0;
  private _loaded = false;
  private _error: string | null = null;
  private _busy: string | null = null;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}
