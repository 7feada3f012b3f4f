import * as React from 'react';

import { DeploymentsModel, IDeploymentRow } from '../deployments';
import { confirmDelete, formatTime } from './History';
import { useModel } from './hooks';

export interface IDeploymentsProps {
  model: DeploymentsModel;
  /** Open a notebook in JupyterLab. */
  openNotebook: (path: string) => void;
}

/** Every deployment of the build service, with its notebook, rollback and delete. */
export function Deployments(props: IDeploymentsProps): JSX.Element {
  const model = useModel(props.model);
  return (
    <div className="jp-Deploy-deployments">
      <div className="jp-Deploy-deploymentsBar">
        <span className="jp-Deploy-sectionTitle">
          Deployments ({model.rows.length})
        </span>
        <button
          className="jp-Button jp-mod-styled jp-Deploy-refresh"
          onClick={() => void model.refresh()}
        >
          Refresh
        </button>
      </div>
      {model.error && (
        <div className="jp-Deploy-error" role="alert">
          {model.error}
        </div>
      )}
      {model.loaded && model.rows.length === 0 && (
        <p className="jp-Deploy-muted">
          Nothing is deployed yet: open a notebook and click Deploy.
        </p>
      )}
      {model.rows.length > 0 && (
        <table className="jp-Deploy-deploymentsTable">
          <thead>
            <tr>
              <th>Name</th>
              <th>Status</th>
              <th>Live</th>
              <th>URL</th>
              <th>Notebook</th>
              <th>Last deploy</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {model.rows.map(row => (
              <DeploymentRow
                key={row.deployment.name}
                row={row}
                model={model}
                openNotebook={props.openNotebook}
              />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function DeploymentRow(props: {
  row: IDeploymentRow;
  model: DeploymentsModel;
  openNotebook: (path: string) => void;
}): JSX.Element {
  const { row, model } = props;
  const { deployment, notebook } = row;
  const busy = model.busy !== null || deployment.status === 'building';
  const canRollBack = deployment.versions.some(v => v.status === 'retired');
  return (
    <tr data-name={deployment.name} className={`jp-mod-${deployment.status}`}>
      <td className="jp-Deploy-cellName">{deployment.name}</td>
      <td>
        <span className={`jp-Deploy-badge jp-mod-${deployment.status}`}>
          {deployment.status}
        </span>
      </td>
      <td>
        {deployment.live_version === null ? '–' : `v${deployment.live_version}`}
      </td>
      <td className="jp-Deploy-cellUrl">
        {deployment.url ? (
          <a href={deployment.url} target="_blank" rel="noreferrer">
            {deployment.url}
          </a>
        ) : (
          '–'
        )}
      </td>
      <td>
        {notebook ? (
          <button
            className="jp-Deploy-link jp-Deploy-notebookLink"
            title={`Open ${notebook}`}
            onClick={() => props.openNotebook(notebook)}
          >
            {notebook}
          </button>
        ) : (
          '–'
        )}
      </td>
      <td className="jp-Deploy-muted">
        {row.lastDeploy ? formatTime(row.lastDeploy) : '–'}
      </td>
      <td className="jp-Deploy-rowActions">
        <button
          className="jp-Button jp-mod-styled jp-Deploy-rollback"
          disabled={busy || !canRollBack}
          title={
            canRollBack
              ? 'Go back to the previous version'
              : 'No earlier version'
          }
          onClick={() => void model.rollback(deployment.name)}
        >
          Roll back
        </button>
        <button
          className="jp-Button jp-mod-styled jp-mod-warn jp-Deploy-delete"
          disabled={busy}
          onClick={async () => {
            if (await confirmDelete(deployment.name)) {
              await model.remove(deployment.name);
            }
          }}
        >
          Delete
        </button>
      </td>
    </tr>
  );
}
