/**
 * Wire types of the traffic routes and "compare with notebook", declared once
 * (docs/traffic.md; the build service's Traffic and Requests schemas).
 */
export namespace TrafficWire {
  /** Figures of one minute, or of the whole window. */
  export interface IFigures {
    requests: number;
    errors: number;
    rejected: number;
    error_rate: number;
    p50_ms: number | null;
    p95_ms: number | null;
    p99_ms: number | null;
  }

  export interface IMinute extends IFigures {
    time: string;
  }

  export interface ITraffic {
    name: string;
    minutes: number;
    interval_seconds: number;
    series: IMinute[];
    totals: IFigures;
  }

  /** One logged request of the model service. */
  export interface IRequest {
    time: string;
    route: string;
    status: number;
    latency_ms: number;
    input: any;
    output: any;
    version?: number;
  }

  export interface IRequests {
    name: string;
    requests: IRequest[];
  }

  /** One input the live version and the notebook answer differently. */
  export interface IDifference {
    input: any;
    live: any;
    notebook: any;
    error: string | null;
    time: string;
    version: number | null;
  }

  export interface IComparison {
    name: string;
    state: 'running' | 'done' | 'cancelled' | 'failed';
    total: number;
    done: number;
    agree: number;
    differing: number;
    failed: number;
    skipped: number;
    agreement: number | null;
    differ: IDifference[];
    message: string;
  }
}
