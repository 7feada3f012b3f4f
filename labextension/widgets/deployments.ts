import { ReactWidget } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { Deployments } from '../components/Deployments';
import { DeploymentsModel } from '../deployments';
import { deployIcon } from '../icons';

/** The Lumino shell of the Deployments view (a main-area tab). */
export class DeploymentsWidget extends ReactWidget {
  constructor(
    readonly model: DeploymentsModel,
    private readonly _openNotebook: (path: string) => void
  ) {
    super();
    this.id = 'jupyter-deploy-deployments';
    this.addClass('jp-DeploymentsView');
    this.title.label = 'Deployments';
    this.title.caption = 'Every deployment of the build service';
    this.title.icon = deployIcon;
    this.title.closable = true;
  }

  protected render(): JSX.Element {
    return React.createElement(Deployments, {
      model: this.model,
      openNotebook: this._openNotebook
    });
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh();
  }
}
