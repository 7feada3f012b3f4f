import * as React from 'react';

import { DeployModel } from '../model';
import { Wire } from '../types';

/** Seconds between refreshes of a running split's figures. */
const SPLIT_REFRESH_MS = 2000;

export interface ICanaryButtonProps {
  disabled: boolean;
  onDeploy: (rollout?: Wire.IRollout) => void;
}

/** "Canary" beside Deploy: deploy the notebook to PERCENT of the live traffic. */
export function CanaryButton(props: ICanaryButtonProps): JSX.Element {
  const [percent, setPercent] = React.useState('10');
  const value = Number(percent);
  const valid = Number.isInteger(value) && value >= 1 && value <= 99;
  return (
    <span className="jp-Deploy-canary">
      <button
        className="jp-Button jp-mod-styled jp-Deploy-canaryButton"
        disabled={props.disabled || !valid}
        title="Deploy as a canary: the new version answers this share of the requests at the same URL"
        onClick={() => props.onDeploy({ canary: value })}
      >
        Canary
      </button>
      <input
        className="jp-mod-styled jp-Deploy-canaryPercent"
        aria-label="Canary percent"
        type="number"
        min={1}
        max={99}
        value={percent}
        onChange={event => setPercent(event.target.value)}
      />
      <span className="jp-Deploy-muted">%</span>
    </span>
  );
}

export interface ISplitViewProps {
  model: DeployModel;
  split: Wire.ISplit;
}

/** Both versions of a running canary or shadow side by side, with Promote and Abort. */
export function SplitView(props: ISplitViewProps): JSX.Element {
  const { model, split } = props;
  React.useEffect(() => {
    const timer = setInterval(
      () => void model.refreshDeployment(),
      SPLIT_REFRESH_MS
    );
    return () => clearInterval(timer);
  }, [model]);
  const busy = model.busy !== null;
  const verb = split.mode === 'canary' ? 'answers' : 'gets copies of';
  return (
    <section className="jp-Deploy-split" aria-label="Running split">
      <h3>
        {split.mode === 'canary' ? 'Canary' : 'Shadow'}: version{' '}
        {split.candidate.version} {verb} {split.percent}% of requests
      </h3>
      {split.note && <p className="jp-Deploy-splitNote">{split.note}</p>}
      <table className="jp-Deploy-splitTable">
        <thead>
          <tr>
            <th />
            <th>Current (v{split.stable.version})</th>
            <th>New (v{split.candidate.version})</th>
          </tr>
        </thead>
        <tbody>
          {ROWS.map(([label, show]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{show(split.stable)}</td>
              <td>{show(split.candidate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {split.agreement && <Agreement agreement={split.agreement} />}
      <div className="jp-Deploy-bar">
        <button
          className="jp-Button jp-mod-styled jp-mod-accept jp-Deploy-promote"
          disabled={busy}
          onClick={() => void model.endSplit('promote')}
        >
          {model.busy === 'promote' ? 'Promoting…' : 'Promote'}
        </button>
        <button
          className="jp-Button jp-mod-styled jp-mod-reject jp-Deploy-abort"
          disabled={busy}
          onClick={() => void model.endSplit('abort')}
        >
          {model.busy === 'abort' ? 'Aborting…' : 'Abort'}
        </button>
      </div>
    </section>
  );
}

type Row = [string, (side: Wire.ISplitSide) => string];

const ROWS: Row[] = [
  ['Requests', side => (side.requests === null ? '-' : String(side.requests))],
  ['Rate', side => (side.rate_per_s === null ? '-' : `${side.rate_per_s}/s`)],
  [
    'Errors',
    side =>
      side.error_rate === null ? '-' : `${(side.error_rate * 100).toFixed(1)}%`
  ],
  ['p95', side => (side.p95_ms === null ? '-' : `${side.p95_ms} ms`)]
];

/** A shadow's agreement rate and the newest inputs on which the versions differ. */
function Agreement(props: { agreement: Wire.IAgreement }): JSX.Element {
  const { compared, rate, differing } = props.agreement;
  return (
    <div className="jp-Deploy-agreement">
      <div>
        Agreement:{' '}
        {rate === null
          ? 'no answers compared yet'
          : `${(rate * 100).toFixed(1)}% of ${compared} answers`}
      </div>
      {differing.length > 0 && (
        <ul aria-label="Differing requests">
          {differing.map(item => (
            <li key={item.request_id}>
              <code>{item.input || '(input not kept)'}</code>{' '}
              <span className="jp-Deploy-muted">
                {item.stable_status} / {item.candidate_status}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
