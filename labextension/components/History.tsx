import { Dialog, showDialog } from '@jupyterlab/apputils';
import * as React from 'react';

import { DeployModel } from '../model';
import { Wire } from '../types';

/** Ask before deleting; answer whether to go on. */
export async function confirmDelete(name: string): Promise<boolean> {
  const result = await showDialog({
    title: 'Delete deployment',
    body: `Delete "${name}"? Its URL stops answering and its versions are removed.`,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
  });
  return result.button.accept;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** The versions of the deployment, with rollback, and delete. */
export function History(props: {
  model: DeployModel;
  deployment: Wire.IDeployment;
}): JSX.Element {
  const { model, deployment } = props;
  const versions = [...deployment.versions].sort(
    (a, b) => b.version - a.version
  );
  const busy = model.busy !== null || model.isBuilding;
  return (
    <div className="jp-Deploy-history">
      <table>
        <tbody>
          {versions.map(version => (
            <tr
              key={version.version}
              className={`jp-mod-${version.status}`}
              data-version={version.version}
            >
              <td>v{version.version}</td>
              <td>{version.status}</td>
              <td className="jp-Deploy-muted">
                {formatTime(version.created_at)}
              </td>
              <td>
                {version.status === 'retired' && (
                  <button
                    className="jp-Button jp-mod-styled jp-Deploy-rollback"
                    disabled={busy}
                    onClick={() => void model.rollback(version.version)}
                  >
                    Roll back
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button
        className="jp-Button jp-mod-styled jp-mod-warn jp-Deploy-delete"
        disabled={busy}
        onClick={async () => {
          if (await confirmDelete(deployment.name)) {
            await model.remove();
          }
        }}
      >
        Delete deployment
      </button>
    </div>
  );
}
