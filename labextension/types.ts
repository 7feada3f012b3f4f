/**
 * Wire types of the server extension's REST API and build events, declared once
 * (see docs/architecture.md, "Server extension REST API").
 */
export namespace Wire {
  /** Phases of a build, in order; `failed` can end any of them. */
  export type Phase =
    'queued' | 'building' | 'starting' | 'testing' | 'live' | 'failed';

  export interface IPhaseTiming {
    phase: Phase;
    started_at: string | null;
    finished_at: string | null;
  }

  export interface IBuildError {
    phase: Phase;
    message: string;
  }

  export interface IBuild {
    id: string;
    name: string;
    version: number;
    kind: 'build' | 'rollback' | 'restart';
    phase: Phase;
    created_at: string;
    updated_at: string;
    finished_at: string | null;
    phases: IPhaseTiming[];
    error: IBuildError | null;
    url: string | null;
  }

  export interface ILogChunk {
    offset: number;
    next_offset: number;
    text: string;
    complete: boolean;
  }

  export interface IVersion {
    version: number;
    build_id: string;
    status: 'building' | 'live' | 'retired' | 'failed';
    created_at: string;
  }

  export interface IDeployment {
    name: string;
    url: string | null;
    status:
      'live' | 'building' | 'failed' | 'stopped' | 'restarting' | 'crashed';
    live_version: number | null;
    live_build: string | null;
    latest_build: string | null;
    openapi_url: string | null;
    versions: IVersion[];
    /** The canary or shadow running on the stable URL (docs/rollouts.md). */
    split?: ISplit | null;
  }

  /** What one version of a split answered through the router. */
  export interface ISplitSide {
    version: number;
    /** null where the platform splits the traffic (Kubernetes): no router sees it. */
    requests: number | null;
    errors: number | null;
    error_rate: number | null;
    p95_ms: number | null;
    rate_per_s: number | null;
  }

  export interface ISplit {
    mode: 'canary' | 'shadow';
    percent: number;
    build_id: string;
    started_at: string;
    /** What the split really is, where it differs from percent (a pod ratio). */
    note?: string | null;
    router: 'running' | 'stopped' | 'none';
    stable: ISplitSide;
    candidate: ISplitSide;
    /** Shadow only: how often both versions answered the same. */
    agreement: IAgreement | null;
  }

  export interface IAgreement {
    compared: number;
    agreeing: number;
    rate: number | null;
    differing: {
      request_id: string;
      input: string;
      stable_status: number;
      candidate_status: number;
    }[];
  }

  /** How a deploy asks for a split instead of a full switch. */
  export interface IRollout {
    canary?: number;
    shadow?: number;
    max_error_rate?: number;
    max_p95_ms?: number;
  }

  export interface ISplitOutcome {
    name: string;
    outcome: string;
    live_version: number;
    split: ISplit;
  }

  export interface IPreview {
    name: string;
    module: string;
    requirements: string[] | string;
    metadata: { [key: string]: any };
    warnings: string[];
    artifacts: any;
  }

  /** The live files the panel reads (`deployments/{name}/files/{path}`). */
  export type LiveFile = 'predict.py' | 'requirements.txt' | 'deploy.json';

  /** A new API key of a deployment: `key` appears in this answer only. */
  export interface INewKey {
    id: string;
    key: string;
    label: string;
    restart: IBuild | null;
  }

  export interface IInvokeResult {
    status: number;
    body: any;
    latency_ms: number;
  }

  export interface IConfig {
    builder_url: string | null;
    embedded: boolean;
  }

  /** Data of an event with schema {@link BUILD_EVENT_SCHEMA}. */
  export interface IBuildEvent {
    build_id: string;
    name: string;
    phase: Phase;
    url: string | null;
    message: string | null;
  }
}

/** The jupyter_events schema of build phase changes. */
export const BUILD_EVENT_SCHEMA =
  'https://events.jupyter.org/jupyter_deploy/build/v1';

/** The phases a successful build goes through, in order. */
export const PHASES: Wire.Phase[] = [
  'queued',
  'building',
  'starting',
  'testing',
  'live'
];

/** Whether a build in this phase is over. */
export function isTerminal(phase: Wire.Phase): boolean {
  return phase === 'live' || phase === 'failed';
}
