import * as React from 'react';

import { DeployModel } from '../model';
import { CopyBlock } from './Snippets';

/**
 * "Create API key", and the key just made, shown once: the test console and the snippets use
 * it for the rest of the session (it is kept in memory only).
 */
export function ApiKey(props: { model: DeployModel }): JSX.Element {
  const { model } = props;
  const key = model.newKey;
  if (!key) {
    return (
      <button
        className="jp-Button jp-mod-styled jp-Deploy-createKey"
        disabled={model.busy !== null || model.isBuilding}
        onClick={() => void model.createKey()}
        title="The deployment then answers only requests that carry one of its keys"
      >
        {model.busy === 'key' ? 'Creating a key…' : 'Create API key'}
      </button>
    );
  }
  return (
    <div className="jp-Deploy-newKey" role="status">
      <div>
        API key <b>{key.id}</b>: copy it now, it is not shown again. The test
        console and the snippets send it in this session.
      </div>
      <CopyBlock label="API key" text={key.key} className="jp-Deploy-keyText" />
      <button
        className="jp-Button jp-mod-styled jp-Deploy-keyDone"
        onClick={() => model.dismissKey()}
      >
        I have copied it
      </button>
    </div>
  );
}
