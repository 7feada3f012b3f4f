import * as React from 'react';

import { PHASES, Wire, isTerminal } from '../types';
import { useNow } from './hooks';

type Step = 'done' | 'current' | 'pending' | 'failed';

/** Seconds between two ISO times (or until now), as `4.2 s` or `1 min 5 s`. */
export function formatElapsed(
  start: string | null,
  end: string | null,
  now: number
): string {
  if (!start) {
    return '';
  }
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : now;
  const seconds = Math.max(0, (to - from) / 1000);
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

function stepOf(build: Wire.IBuild, phase: Wire.Phase): Step {
  const failedAt = build.phase === 'failed' ? build.error?.phase : undefined;
  const index = PHASES.indexOf(phase);
  const reached = build.phases.some(p => p.phase === phase);
  if (failedAt) {
    const failedIndex = PHASES.indexOf(failedAt);
    if (phase === failedAt) {
      return 'failed';
    }
    return failedIndex >= 0 && index < failedIndex ? 'done' : 'pending';
  }
  if (build.phase === phase) {
    return phase === 'live' ? 'done' : 'current';
  }
  const currentIndex = PHASES.indexOf(build.phase);
  if (index < currentIndex || (reached && build.phase === 'live')) {
    return 'done';
  }
  return 'pending';
}

/** The build's phases in order, the current one marked, with elapsed times. */
export function Timeline(props: { build: Wire.IBuild }): JSX.Element {
  const { build } = props;
  const now = useNow(!isTerminal(build.phase));
  const total = formatElapsed(build.created_at, build.finished_at, now);
  return (
    <div className="jp-Deploy-timeline" data-phase={build.phase}>
      <div className="jp-Deploy-sectionTitle">
        {build.kind === 'rollback' ? 'Rollback' : 'Build'} v{build.version}
        <span className="jp-Deploy-muted"> · {total}</span>
      </div>
      <ol>
        {PHASES.map(phase => {
          const step = stepOf(build, phase);
          const timing = build.phases.find(p => p.phase === phase);
          const elapsed = timing
            ? formatElapsed(timing.started_at, timing.finished_at, now)
            : '';
          return (
            <li
              key={phase}
              className={`jp-Deploy-step jp-mod-${step}`}
              data-phase={phase}
              aria-current={step === 'current' ? 'step' : undefined}
            >
              <span className="jp-Deploy-stepDot" />
              <span className="jp-Deploy-stepName">
                {step === 'failed' ? `${phase} (failed)` : phase}
              </span>
              <span className="jp-Deploy-stepTime">
                {phase === 'live' ? '' : elapsed}
              </span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
