import * as React from 'react';

import { Wire } from '../types';

/** "Live" with the stable URL, or the failure: its phase and message. */
export function Status(props: {
  build: Wire.IBuild | null;
  deployment: Wire.IDeployment | null;
}): JSX.Element | null {
  const { build, deployment } = props;
  if (build?.phase === 'failed') {
    const phase = build.error?.phase ?? 'build';
    return (
      <div className="jp-Deploy-failed" role="alert">
        <div className="jp-Deploy-badge jp-mod-failed">Failed</div>
        <div>
          The <b className="jp-Deploy-failedPhase">{phase}</b> phase failed.
        </div>
        <div className="jp-Deploy-failedMessage">
          {build.error?.message ?? 'No message.'}
        </div>
      </div>
    );
  }
  const url = deployment?.url ?? (build?.phase === 'live' ? build.url : null);
  const live =
    (build === null || build.phase === 'live') &&
    (deployment?.status === 'live' || build?.phase === 'live');
  if (live && url) {
    return (
      <div className="jp-Deploy-live">
        <span className="jp-Deploy-badge jp-mod-live">Live</span>
        {deployment?.live_version !== null &&
          deployment?.live_version !== undefined && (
            <span className="jp-Deploy-muted"> v{deployment.live_version}</span>
          )}
        <a
          className="jp-Deploy-url"
          href={url}
          target="_blank"
          rel="noreferrer"
        >
          {url}
        </a>
      </div>
    );
  }
  if (deployment && deployment.status !== 'live') {
    return (
      <div className="jp-Deploy-muted jp-Deploy-state">
        Deployment is {deployment.status}.
      </div>
    );
  }
  return null;
}
