/** Wires the Deploy panel, its commands, the notebook toolbar button and settings. */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  Notification,
  ToolbarButton
} from '@jupyterlab/apputils';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import {
  INotebookModel,
  INotebookTracker,
  NotebookPanel
} from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { IDisposable } from '@lumino/disposable';

import { DeployAPI } from './api';
import { CommandIDs, addCommands } from './commands';
import { deployIcon } from './icons';
import { DeploymentsModel } from './deployments';
import { DeployModel } from './model';
import { Sections } from './sections';
import { Wire } from './types';
import { DEFAULTS, IPreferences, watchSettings } from './settings';
import { DeployPanelWidget } from './widgets/panel';

const PLUGIN_ID = 'jupyter-deploy:plugin';

/** A "Deploy" button on every notebook's toolbar. */
class DeployButton implements DocumentRegistry.IWidgetExtension<
  NotebookPanel,
  INotebookModel
> {
  constructor(private _app: JupyterFrontEnd) {}

  createNew(panel: NotebookPanel): IDisposable {
    const button = new ToolbarButton({
      className: 'jp-Deploy-toolbarButton',
      icon: deployIcon,
      label: 'Deploy',
      tooltip: 'Deploy this notebook as a prediction API',
      onClick: () => {
        void this._app.commands.execute(CommandIDs.deploy, {
          path: panel.context.path
        });
      }
    });
    panel.toolbar.insertItem(10, 'jupyter-deploy', button);
    return button;
  }
}

function notifyFinished(app: JupyterFrontEnd, build: Wire.IBuild): void {
  const actions = [
    {
      label: 'Open panel',
      callback: () => void app.commands.execute(CommandIDs.openPanel)
    }
  ];
  if (build.phase === 'live') {
    Notification.success(
      `"${build.name}" v${build.version} is live at ${build.url}`,
      {
        autoClose: 8000,
        actions
      }
    );
  } else {
    const phase = build.error?.phase ?? 'build';
    const message = build.error?.message ?? 'no message';
    Notification.error(
      `Deploying "${build.name}" failed (${phase}): ${message}`,
      {
        autoClose: false,
        actions
      }
    );
  }
}

function activate(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  palette: ICommandPalette | null,
  settingRegistry: ISettingRegistry | null,
  restorer: ILayoutRestorer | null,
  labShell: ILabShell | null,
  languages: IEditorLanguageRegistry | null,
  state: IStateDB | null
): void {
  const prefs: IPreferences = { ...DEFAULTS };
  const api = new DeployAPI(app.serviceManager.serverSettings);
  const events = app.serviceManager.events ?? null;
  const model = new DeployModel({
    api,
    events,
    pollInterval: prefs.pollInterval
  });
  const deployments = new DeploymentsModel(api, events);
  const sections = new Sections(state);
  void app.restored.then(() => sections.restore());
  const panel = new DeployPanelWidget(model, sections, (command, args) => {
    const path = model.notebookPath ?? undefined;
    void app.commands.execute(command, { path, ...args });
  });
  const place = () => app.shell.add(panel, prefs.panelSide, { rank: 900 });
  place();
  restorer?.add(panel, 'jupyter-deploy-panel');

  const follow = () =>
    model.setNotebook(tracker.currentWidget?.context.path ?? null);
  tracker.currentChanged.connect(follow);
  tracker.widgetAdded.connect((_, nb) =>
    nb.context.pathChanged.connect(follow)
  );
  void app.restored.then(follow);
  model.buildFinished.connect((_, build) => {
    if (prefs.notify) {
      notifyFinished(app, build);
    }
  });

  addCommands(
    { app, tracker, model, panel, prefs, place, languages, deployments },
    palette
  );
  app.docRegistry.addWidgetExtension('Notebook', new DeployButton(app));
  if (settingRegistry) {
    watchSettings(settingRegistry, PLUGIN_ID, app.restored, prefs, previous => {
      model.setPollInterval(prefs.pollInterval);
      if (previous.panelSide !== prefs.panelSide && labShell) {
        place();
      }
    });
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The Deploy side panel: notebook to live prediction API.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [
    ICommandPalette,
    ISettingRegistry,
    ILayoutRestorer,
    ILabShell,
    IEditorLanguageRegistry,
    IStateDB
  ],
  activate
};

export default plugin;
