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
import { DocumentRegistry } from '@jupyterlab/docregistry';
import {
  INotebookModel,
  INotebookTracker,
  NotebookPanel
} from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IDisposable } from '@lumino/disposable';

import { DeployAPI } from './api';
import { deployIcon } from './icons';
import { DeployModel } from './model';
import { Wire } from './types';
import { DeployPanelWidget } from './widgets/panel';

const PLUGIN_ID = 'jupyter-deploy:plugin';
const PREDICT_TAG = 'predict';

export namespace CommandIDs {
  export const deploy = 'jupyter-deploy:deploy';
  export const openPanel = 'jupyter-deploy:open-panel';
  export const togglePredictTag = 'jupyter-deploy:toggle-predict-tag';
}

interface IPreferences {
  panelSide: 'left' | 'right';
  pollInterval: number;
  autoOpenPanel: boolean;
  notify: boolean;
}

const DEFAULTS: IPreferences = {
  panelSide: 'right',
  pollInterval: 1000,
  autoOpenPanel: true,
  notify: true
};

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
  labShell: ILabShell | null
): void {
  const prefs: IPreferences = { ...DEFAULTS };
  const events = app.serviceManager.events ?? null;
  const model = new DeployModel({
    api: new DeployAPI(app.serviceManager.serverSettings),
    events,
    pollInterval: prefs.pollInterval
  });
  const panel = new DeployPanelWidget(model, () => {
    const path = model.notebookPath ?? undefined;
    void app.commands.execute(CommandIDs.deploy, { path });
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

  const findNotebook = (path?: string): NotebookPanel | null => {
    if (path) {
      return tracker.find(nb => nb.context.path === path) ?? null;
    }
    return tracker.currentWidget;
  };

  app.commands.addCommand(CommandIDs.deploy, {
    label: 'Deploy Notebook',
    caption: 'Save the notebook and deploy it as a prediction API',
    icon: deployIcon,
    execute: async args => {
      const notebook = findNotebook(args.path as string | undefined);
      if (!notebook) {
        Notification.warning('Open a notebook to deploy it.', {
          autoClose: 4000
        });
        return;
      }
      model.setNotebook(notebook.context.path);
      if (prefs.autoOpenPanel) {
        app.shell.activateById(panel.id);
      }
      if (notebook.context.model.dirty) {
        await notebook.context.save();
      }
      const build = await model.deploy();
      if (!build && model.error) {
        Notification.error(model.error, { autoClose: 8000 });
      }
    }
  });

  app.commands.addCommand(CommandIDs.openPanel, {
    label: 'Open the Deploy Panel',
    execute: () => {
      if (!panel.isAttached) {
        place();
      }
      app.shell.activateById(panel.id);
    }
  });

  app.commands.addCommand(CommandIDs.togglePredictTag, {
    label: 'Tag Cell as predict',
    caption: 'Mark the active cell as the one that defines predict()',
    isToggled: () => {
      const tags = tracker.activeCell?.model.getMetadata('tags');
      return Array.isArray(tags) && tags.includes(PREDICT_TAG);
    },
    isEnabled: () => !!tracker.activeCell,
    execute: () => {
      const cell = tracker.activeCell;
      if (!cell) {
        return;
      }
      const tags =
        (cell.model.getMetadata('tags') as string[] | undefined) ?? [];
      const next = tags.includes(PREDICT_TAG)
        ? tags.filter(tag => tag !== PREDICT_TAG)
        : [...tags, PREDICT_TAG];
      if (next.length) {
        cell.model.setMetadata('tags', next);
      } else {
        cell.model.deleteMetadata('tags');
      }
    }
  });

  for (const command of Object.values(CommandIDs)) {
    palette?.addItem({ command, category: 'Deploy' });
  }
  app.contextMenu.addItem({
    command: CommandIDs.togglePredictTag,
    selector: '.jp-Notebook .jp-Cell',
    rank: 30
  });
  app.docRegistry.addWidgetExtension('Notebook', new DeployButton(app));

  if (settingRegistry) {
    const apply = (settings: ISettingRegistry.ISettings) => {
      const side = settings.get('panelSide')
        .composite as IPreferences['panelSide'];
      const moved = side !== prefs.panelSide;
      prefs.panelSide = side === 'left' ? 'left' : 'right';
      prefs.pollInterval = settings.get('pollInterval').composite as number;
      prefs.autoOpenPanel = settings.get('autoOpenPanel').composite as boolean;
      prefs.notify = settings.get('notify').composite as boolean;
      model.setPollInterval(prefs.pollInterval);
      if (moved && labShell) {
        place();
      }
    };
    void Promise.all([settingRegistry.load(PLUGIN_ID), app.restored])
      .then(([settings]) => {
        apply(settings);
        settings.changed.connect(apply);
      })
      .catch(reason =>
        console.error('jupyter-deploy: settings not loaded', reason)
      );
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'The Deploy side panel: notebook to live prediction API.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer, ILabShell],
  activate
};

export default plugin;
