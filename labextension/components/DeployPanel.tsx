import * as React from 'react';

import { CommandIDs } from '../commands';
import { DeployModel } from '../model';
import { isTerminal } from '../types';
import { History } from './History';
import { useModel } from './hooks';
import { Logs } from './Logs';
import { ModuleSection } from './ModuleSection';
import { Snippets } from './Snippets';
import { Status } from './Status';
import { TestConsole } from './TestConsole';
import { Timeline } from './Timeline';

export interface IDeployPanelProps {
  model: DeployModel;
  /** Run one of the extension's commands for the current notebook (deploy, open module...). */
  run: (command: string) => void;
}

/** Opens the Deployments view: every notebook's deployments at a glance. */
function AllDeployments(props: {
  run: (command: string) => void;
}): JSX.Element {
  return (
    <button
      className="jp-Deploy-link jp-Deploy-allDeployments"
      onClick={() => props.run(CommandIDs.openDeployments)}
    >
      All deployments
    </button>
  );
}

/** The whole Deploy panel for the current notebook. */
export function DeployPanel(props: IDeployPanelProps): JSX.Element {
  const model = useModel(props.model);
  if (!model.notebookPath) {
    return (
      <div className="jp-Deploy jp-Deploy-empty">
        <p>Open a notebook with a cell tagged predict to deploy it.</p>
        <AllDeployments run={props.run} />
      </div>
    );
  }
  const { build, deployment } = model;
  const busy = model.busy !== null || model.isBuilding;
  const live = deployment?.status === 'live' && !!deployment.url;
  return (
    <div className="jp-Deploy">
      <div className="jp-Deploy-top">
        <span className="jp-Deploy-notebook jp-Deploy-muted">
          {model.notebookPath}
        </span>
        <AllDeployments run={props.run} />
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
          onClick={() => props.run(CommandIDs.deploy)}
        >
          {model.busy === 'deploy' ? 'Deploying…' : 'Deploy'}
        </button>
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
      {build && <Timeline build={build} />}
      {build && (
        <Logs
          text={model.logs}
          open={!isTerminal(build.phase) || build.phase === 'failed'}
        />
      )}
      {live && deployment && (
        <>
          <section className="jp-Deploy-testSection">
            <div className="jp-Deploy-sectionTitle">Test console</div>
            <TestConsole console={model.console} name={deployment.name} />
          </section>
          <Snippets
            url={deployment.url as string}
            body={model.console.text}
            openapi={deployment.openapi_url}
          />
        </>
      )}
      <ModuleSection
        preview={model.preview}
        canDiff={deployment?.live_version !== null && !!deployment}
        busy={model.busy !== null}
        run={props.run}
      />
      {deployment && deployment.versions.length > 0 && (
        <History model={model} deployment={deployment} />
      )}
    </div>
  );
}
