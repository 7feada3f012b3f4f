import { ReactWidget } from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import { DeployPanel } from '../components/DeployPanel';
import { DeployModel } from '../model';
import { deployIcon } from '../icons';
import { Sections } from '../sections';

/** The Lumino shell of the Deploy side panel. */
export class DeployPanelWidget extends ReactWidget {
  constructor(
    readonly model: DeployModel,
    readonly sections: Sections,
    private readonly _run: (
      command: string,
      args?: ReadonlyPartialJSONObject
    ) => void
  ) {
    super();
    this.id = 'jupyter-deploy-panel';
    this.addClass('jp-DeployPanel');
    this.title.label = 'Deploy';
    this.title.caption = 'Deploy the notebook as a prediction API';
    this.title.icon = deployIcon;
  }

  protected render(): JSX.Element {
    return React.createElement(DeployPanel, {
      model: this.model,
      sections: this.sections,
      run: this._run
    });
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refreshDeployment();
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}
