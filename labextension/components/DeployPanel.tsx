import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import * as React from 'react';

import { CommandIDs } from '../commands';
import { DeployModel } from '../model';
import { openapiUrl } from '../names';
import { Sections } from '../sections';
import { isTerminal } from '../types';
import { ApiKey } from './ApiKey';
import { History } from './History';
import { useModel } from './hooks';
import { Logs } from './Logs';
import { CanaryButton, SplitView } from './Rollout';
import { ModuleSection } from './ModuleSection';
import { Section } from './Section';
import { Status } from './Status';
import { TestConsole } from './TestConsole';
import { Timeline } from './Timeline';
import { Traffic } from './Traffic';

export interface IDeployPanelProps {
  model: DeployModel;
  /** Run one of the extension's commands for the current notebook (deploy, open module...). */
  run: (command: string, args?: ReadonlyPartialJSONObject) => void;
  /** Which sections are open. */
  sections: Sections;
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

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** A few words on the deployment, shown beside the folded Status section. */
function statusOf(model: DeployModel): string {
  const { build, deployment } = model;
  if (build && !isTerminal(build.phase)) {
    return build.phase;
  }
  if (build?.phase === 'failed') {
    return 'failed';
  }
  if (deployment?.status === 'live') {
    return `live v${deployment.live_version}`;
  }
  return deployment?.status ?? 'not deployed';
}

/** The whole Deploy panel for the current notebook. */
export function DeployPanel(props: IDeployPanelProps): JSX.Element {
  const model = useModel(props.model);
  const sections = useModel(props.sections);
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
        <CanaryButton
          disabled={busy || !live || !!deployment?.split}
          onDeploy={rollout => props.run(CommandIDs.deploy, { ...rollout })}
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
      <Section id="status" sections={sections} summary={statusOf(model)}>
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
        {!build && !deployment && (
          <div className="jp-Deploy-muted">Not deployed yet.</div>
        )}
      </Section>
      {live && deployment && (
        <Section id="test" sections={sections} summary="POST /predict">
          <div className="jp-Deploy-testSection">
            <TestConsole console={model.console} name={deployment.name} />
          </div>
          <div className="jp-Deploy-actions">
            <ApiKey model={model} />
            <button
              className="jp-Button jp-mod-styled jp-Deploy-openSnippets"
              onClick={() => props.run(CommandIDs.openSnippets)}
            >
              curl and Python snippets
            </button>
            <a
              className="jp-Deploy-openapi"
              href={openapiUrl(deployment.url!, deployment.openapi_url)}
              target="_blank"
              rel="noreferrer"
            >
              OpenAPI document
            </a>
          </div>
        </Section>
      )}
      {live && deployment && (
        <Section id="traffic" sections={sections} summary="requests, latency">
          <Traffic model={model} />
        </Section>
      )}
      <Section id="code" sections={sections}>
        <ModuleSection
          preview={model.preview}
          canDiff={deployment?.live_version !== null && !!deployment}
          busy={model.busy !== null}
          run={props.run}
        />
      </Section>
      {deployment && deployment.versions.length > 0 && (
        <Section
          id="history"
          sections={sections}
          summary={plural(deployment.versions.length, 'version')}
        >
          <History model={model} deployment={deployment} />
        </Section>
      )}
    </div>
  );
}
