/** The extension's commands: deploy, open the panel, tag a cell; palette and menus. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Widget } from '@lumino/widgets';

import { DeploymentsModel } from './deployments';
import { deployIcon } from './icons';
import { DeployModel } from './model';
import { openDiff, openModule } from './review';
import { IPreferences } from './settings';
import { DeploymentsWidget } from './widgets/deployments';
import { SnippetsWidget } from './widgets/snippets';

export namespace CommandIDs {
  export const deploy = 'jupyter-deploy:deploy';
  export const openPanel = 'jupyter-deploy:open-panel';
  export const togglePredictTag = 'jupyter-deploy:toggle-predict-tag';
  export const openModule = 'jupyter-deploy:open-module';
  export const diffLive = 'jupyter-deploy:diff-live';
  export const openDeployments = 'jupyter-deploy:open-deployments';
  export const openSnippets = 'jupyter-deploy:open-snippets';
}

const PREDICT_TAG = 'predict';

export interface ICommandContext {
  app: JupyterFrontEnd;
  tracker: INotebookTracker;
  model: DeployModel;
  panel: Widget;
  prefs: IPreferences;
  languages: IEditorLanguageRegistry | null;
  deployments: DeploymentsModel;
  /** Put the panel in the shell (on the side the settings say). */
  place: () => void;
}

/** Add every command, and list them in the palette and the cell context menu. */
export function addCommands(
  context: ICommandContext,
  palette: ICommandPalette | null
): void {
  const { app } = context;
  app.commands.addCommand(CommandIDs.deploy, deployCommand(context));
  app.commands.addCommand(CommandIDs.openPanel, {
    label: 'Open the Deploy Panel',
    execute: () => {
      if (!context.panel.isAttached) {
        context.place();
      }
      app.shell.activateById(context.panel.id);
    }
  });
  app.commands.addCommand(
    CommandIDs.togglePredictTag,
    toggleTagCommand(context.tracker)
  );
  app.commands.addCommand(CommandIDs.openModule, {
    label: 'Open the Generated Module',
    caption: 'predict.py, requirements.txt and deploy.json in a read-only tab',
    isEnabled: () => !!context.model.notebookPath,
    execute: async () => {
      await saveIfDirty(context);
      await openModule(context);
    }
  });
  app.commands.addCommand(CommandIDs.diffLive, {
    label: 'Diff the Module Against Live',
    caption:
      'Side by side: the live predict.py and requirements.txt against the new ones',
    isEnabled: () => !!context.model.notebookPath,
    execute: async () => {
      await saveIfDirty(context);
      await openDiff(context);
    }
  });
  app.commands.addCommand(CommandIDs.openDeployments, {
    label: 'Open the Deployments View',
    caption: 'Every deployment of the build service, with its notebook',
    icon: deployIcon,
    execute: () => openDeployments(context)
  });
  app.commands.addCommand(CommandIDs.openSnippets, {
    label: 'Open the API Snippets',
    caption: 'curl and Python snippets that call the live deployment',
    icon: deployIcon,
    execute: () => openSnippets(context)
  });
  for (const command of Object.values(CommandIDs)) {
    palette?.addItem({ command, category: 'Deploy' });
  }
  app.contextMenu.addItem({
    command: CommandIDs.togglePredictTag,
    selector: '.jp-Notebook .jp-Cell',
    rank: 30
  });
}

let deploymentsView: DeploymentsWidget | null = null;
let snippetsView: SnippetsWidget | null = null;

/** Show the snippets tab of the panel's deployment. */
function openSnippets({ app, model }: ICommandContext): void {
  if (!snippetsView || snippetsView.isDisposed) {
    snippetsView = new SnippetsWidget(model);
  }
  if (!snippetsView.isAttached) {
    app.shell.add(snippetsView, 'main', { mode: 'split-bottom' });
  }
  app.shell.activateById(snippetsView.id);
}

/** Show the Deployments view (one tab, made again after it is closed). */
function openDeployments({ app, deployments }: ICommandContext): void {
  if (!deploymentsView || deploymentsView.isDisposed) {
    deploymentsView = new DeploymentsWidget(deployments, path => {
      void app.commands.execute('docmanager:open', { path });
    });
  }
  if (!deploymentsView.isAttached) {
    app.shell.add(deploymentsView, 'main');
  }
  app.shell.activateById(deploymentsView.id);
  void deployments.refresh();
}

/** Save the panel's notebook when it has unsaved changes: the server reads it from disk. */
async function saveIfDirty({ tracker, model }: ICommandContext): Promise<void> {
  const path = model.notebookPath;
  const notebook = tracker.find(nb => nb.context.path === path);
  if (notebook?.context.model.dirty) {
    await notebook.context.save();
  }
}

function deployCommand({
  app,
  tracker,
  model,
  panel,
  prefs
}: ICommandContext): Parameters<JupyterFrontEnd['commands']['addCommand']>[1] {
  const findNotebook = (path?: string): NotebookPanel | null =>
    path
      ? (tracker.find(nb => nb.context.path === path) ?? null)
      : tracker.currentWidget;
  return {
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
      const canary = Number(args.canary ?? 0);
      const build = await model.deploy(canary > 0 ? { canary } : undefined);
      if (!build && model.error) {
        Notification.error(model.error, { autoClose: 8000 });
      }
    }
  };
}

function toggleTagCommand(
  tracker: INotebookTracker
): Parameters<JupyterFrontEnd['commands']['addCommand']>[1] {
  return {
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
  };
}
