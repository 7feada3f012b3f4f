/**
 * State of the Traffic section for one live deployment, with a signal: the figures and the
 * newest requests (refreshed by a Lumino Poll that backs off on errors and stands by while
 * the page is hidden), and the running or last "compare with notebook".
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { ITrafficAPI, messageOf } from './api';
import { TrafficWire } from './trafficTypes';

export namespace TrafficModel {
  export interface IOptions {
    api: ITrafficAPI;
    /** Milliseconds between refreshes of the figures (default 5000). */
    interval?: number;
    /** Milliseconds between reads of a running comparison (default 500). */
    compareInterval?: number;
    /** Minutes of figures shown (default 30). */
    minutes?: number;
    /** Requests listed (default 20). */
    limit?: number;
  }
}

/** The Traffic section's state. */
export class TrafficModel implements IDisposable {
  constructor(options: TrafficModel.IOptions) {
    this._api = options.api;
    this._minutes = options.minutes ?? 30;
    this._limit = options.limit ?? 20;
    this._compareInterval = options.compareInterval ?? 500;
    const interval = options.interval ?? 5000;
    this._poll = new Poll({
      auto: false,
      factory: () => this.refresh(),
      frequency: { interval, backoff: true, max: Math.max(60_000, interval) },
      name: 'jupyter-deploy:traffic',
      standby: 'when-hidden'
    });
  }

  /** Emitted whenever any state changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get name(): string | null {
    return this._name;
  }

  get traffic(): TrafficWire.ITraffic | null {
    return this._traffic;
  }

  get requests(): TrafficWire.IRequest[] {
    return this._requests;
  }

  get comparison(): TrafficWire.IComparison | null {
    return this._comparison;
  }

  /** The last error of a refresh or of a comparison, as the server said it. */
  get error(): string | null {
    return this._error;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Watch another deployment (or none); its notebook is the one compared with. */
  setDeployment(name: string | null, notebookPath: string | null): void {
    this._path = notebookPath;
    if (name === this._name) {
      return;
    }
    this._name = name;
    this._traffic = null;
    this._requests = [];
    this._comparison = null;
    this._error = null;
    this._changed.emit();
    if (name) {
      void this._poll.start();
      void this._poll.refresh();
    } else {
      void this._poll.stop();
    }
  }

  /** Read the figures and the newest requests once. */
  async refresh(): Promise<void> {
    const name = this._name;
    if (!name) {
      return;
    }
    try {
      const [traffic, requests] = await Promise.all([
        this._api.traffic(name, this._minutes),
        this._api.requests(name, this._limit)
      ]);
      if (name !== this._name || this._isDisposed) {
        return;
      }
      this._traffic = traffic;
      this._requests = requests.requests;
      this._error = null;
    } catch (error) {
      this._error = messageOf(error);
      this._changed.emit();
      throw error; // the poll backs off
    }
    this._changed.emit();
  }

  /** Replay the last `last` live inputs through the notebook's current predict. */
  async compare(last: number): Promise<TrafficWire.IComparison | null> {
    const name = this._name;
    if (!name) {
      return null;
    }
    try {
      let state = await this._api.startCompare(
        name,
        last,
        this._path ?? undefined
      );
      this._setComparison(name, state);
      while (state.state === 'running' && !this._isDisposed) {
        await sleep(this._compareInterval);
        state = await this._api.getCompare(name);
        this._setComparison(name, state);
      }
      return state;
    } catch (error) {
      this._error = messageOf(error);
      this._changed.emit();
      return null;
    }
  }

  /** Stop the running comparison after the chunk the kernel is answering. */
  async cancelCompare(): Promise<void> {
    if (this._name && this._comparison?.state === 'running') {
      this._setComparison(
        this._name,
        await this._api.cancelCompare(this._name)
      );
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  private _setComparison(name: string, state: TrafficWire.IComparison): void {
    if (name === this._name) {
      this._comparison = state;
      this._error = null;
      this._changed.emit();
    }
  }

  private _api: ITrafficAPI;
  private _poll: Poll;
  private _minutes: number;
  private _limit: number;
  private _compareInterval: number;
  private _name: string | null = null;
  private _path: string | null = null;
  private _traffic: TrafficWire.ITraffic | null = null;
  private _requests: TrafficWire.IRequest[] = [];
  private _comparison: TrafficWire.IComparison | null = null;
  private _error: string | null = null;
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
