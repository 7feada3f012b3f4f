import * as React from 'react';

import { DeployModel } from '../model';
import { isTerminal, Wire } from '../types';
import { History } from './History';
import { useModel } from './hooks';
import { Logs } from './Logs';
import { CanaryButton, SplitView } from './Rollout';
import { ModuleSection } from './ModuleSection';
import { Snippets } from './Snippets';
import { Status } from './Status';
import { TestConsole } from './TestConsole';
import { Timeline } from './Timeline';
import { Traffic } from './Traffic';

export interface IDeployPanelProps {
  model: DeployModel;
  /** Save the notebook, then deploy (the jupyter-deploy:deploy command). */
  onDeploy: (rollout?: Wire.IRollout) => void;
}

/** The whole Deploy panel for the current notebook. */
export function DeployPanel(props: IDeployPanelProps): JSX.Element {
  const model = useModel(props.model);
  if (!model.notebookPath) {
    return (
      <div className="jp-Deploy jp-Deploy-empty">
        <p>Open a notebook with a cell tagged predict to deploy it.</p>
      </div>
    );
  }
  const { build, deployment } = model;
  const busy = model.busy !== null || model.isBuilding;
  const live = deployment?.status === 'live' && !!deployment.url;
  return (
    <div className="jp-Deploy">
      <div className="jp-Deploy-notebook jp-Deploy-muted">
        {model.notebookPath}
      </div>
      <div className="jp-Deploy-bar">
        <label className="jp-Deploy-name">
          <span>Name</span>
          <input
            className="jp-mod-styled"
            aria-label="Deployment name"
            value={model.name}
            onChange={event => {
              model.name = event.target.value;
            }}
            onBlur={() => void model.refreshDeployment()}
          />
        </label>
        <button
          className="jp-Button jp-mod-styled jp-mod-accept jp-Deploy-deploy"
          disabled={busy}
          onClick={() => props.onDeploy()}
        >
          {model.busy === 'deploy' ? 'Deploying…' : 'Deploy'}
        </button>
        <CanaryButton
          disabled={busy || !live || !!deployment?.split}
          onDeploy={props.onDeploy}
        />
        <button
          className="jp-Button jp-mod-styled jp-Deploy-preview"
          disabled={busy}
          onClick={() => void model.runPreview()}
        >
          {model.busy === 'preview' ? 'Previewing…' : 'Preview'}
        </button>
      </div>
      {model.error && (
        <div className="jp-Deploy-error" role="alert">
          {model.error}
        </div>
      )}
      <Status build={build} deployment={deployment} />
      {deployment?.split && (
        <SplitView model={model} split={deployment.split} />
      )}
      {build && <Timeline build={build} />}
      {build && (
        <Logs
          text={model.logs}
          open={!isTerminal(build.phase) || build.phase === 'failed'}
        />
      )}
      {live && deployment && (
        <>
          <TestConsole model={model} />
          <Traffic model={model} />
          <Snippets
            url={deployment.url as string}
            body={model.consoleInput}
            openapi={deployment.openapi_url}
          />
        </>
      )}
      <ModuleSection preview={model.preview} liveModule={model.liveModule} />
      {deployment && deployment.versions.length > 0 && (
        <History model={model} deployment={deployment} />
      )}
    </div>
  );
}
