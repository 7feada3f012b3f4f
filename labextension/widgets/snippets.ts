import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { SnippetsView } from '../components/Snippets';
import { deployIcon } from '../icons';
import { DeployModel } from '../model';

/** The snippets tab: curl and Python calls of the live API, wide enough to read and copy. */
export class SnippetsWidget extends ReactWidget {
  constructor(readonly model: DeployModel) {
    super();
    this.id = 'jupyter-deploy-snippets';
    this.addClass('jp-DeploySnippets');
    this.title.label = 'Call the API';
    this.title.caption = 'curl and Python snippets for the live deployment';
    this.title.icon = deployIcon;
    this.title.closable = true;
  }

  protected render(): JSX.Element {
    return React.createElement(SnippetsView, { model: this.model });
  }
}
