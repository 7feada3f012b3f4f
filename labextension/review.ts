/** "Open module" and "Diff against live": the review tabs in the main area. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, Notification } from '@jupyterlab/apputils';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { Widget } from '@lumino/widgets';

import { ICellRef } from './blocks';
import { DIFF_FILES, ISourceFile, REVIEW_FILES, generatedFiles } from './files';
import { deployIcon } from './icons';
import { DeployModel } from './model';
import { revealCell } from './reveal';
import { DiffView } from './widgets/diff';
import { SourceView } from './widgets/source';

export interface IReviewContext {
  app: JupyterFrontEnd;
  model: DeployModel;
  languages: IEditorLanguageRegistry | null;
}

/** The tabs opened so far, by id, so a second click refreshes instead of stacking. */
const opened = new Map<string, MainAreaWidget>();

/**
 * Open the files the notebook (as saved) generates now, or the live ones when it does not
 * compile, in a read-only tab.
 */
export async function openModule(context: IReviewContext): Promise<void> {
  const { model } = context;
  const preview = await model.runPreview();
  let files: ISourceFile[];
  let note: string;
  if (preview) {
    files = generatedFiles(preview);
    note = `Generated now from ${model.notebookPath}: what Deploy would ship. Click a "# --- cell" line to reveal that cell.`;
  } else {
    files = await liveFiles(model);
    note = `Live version of ${model.name} (the notebook did not compile: ${model.error}).`;
  }
  if (!files.length) {
    warn(model.error ?? 'There is no module to show: preview or deploy first.');
    return;
  }
  const content = new SourceView({
    files,
    note,
    languages: context.languages,
    reveal: revealer(context)
  });
  await content.showFile('predict.py');
  show(
    context.app,
    `jupyter-deploy-module-${model.name}`,
    `Module: ${model.name}`,
    content
  );
}

/** Open the side-by-side diff of the live files against the generated ones. */
export async function openDiff(context: IReviewContext): Promise<void> {
  const { model } = context;
  const preview = await model.runPreview();
  if (!preview) {
    warn(model.error ?? 'Preview the notebook first.');
    return;
  }
  const generated = generatedFiles(preview);
  const live = await Promise.all(DIFF_FILES.map(path => model.liveFile(path)));
  if (live.every(text => text === null)) {
    warn(`Nothing of "${model.name}" is live yet to compare with.`);
    return;
  }
  const version = model.deployment?.live_version;
  const content = new DiffView({
    files: DIFF_FILES.map((path, i) => ({
      path,
      live: live[i],
      next: generated.find(file => file.path === path)?.text ?? ''
    })),
    liveLabel: `Live${version ? ` v${version}` : ''}`,
    nextLabel: `Generated from ${model.notebookPath}`,
    languages: context.languages,
    reveal: revealer(context)
  });
  await content.ready;
  show(
    context.app,
    `jupyter-deploy-diff-${model.name}`,
    `Diff: ${model.name}`,
    content
  );
}

async function liveFiles(model: DeployModel): Promise<ISourceFile[]> {
  if (!model.name) {
    return [];
  }
  const texts = await Promise.all(
    REVIEW_FILES.map(path => model.liveFile(path))
  );
  return REVIEW_FILES.flatMap((path, i) => {
    const text = texts[i];
    return text === null ? [] : [{ path, text }];
  });
}

function revealer(context: IReviewContext): (cell: ICellRef) => void {
  const path = context.model.notebookPath;
  return cell => {
    if (path) {
      void revealCell(context.app, path, cell);
    }
  };
}

function show(
  app: JupyterFrontEnd,
  id: string,
  label: string,
  content: Widget
): void {
  opened.get(id)?.dispose();
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  widget.title.label = label;
  widget.title.icon = deployIcon;
  widget.title.closable = true;
  widget.addClass('jp-Deploy-reviewTab');
  widget.disposed.connect(() => {
    if (opened.get(id) === widget) {
      opened.delete(id);
    }
  });
  opened.set(id, widget);
  app.shell.add(widget, 'main');
  app.shell.activateById(id);
}

function warn(message: string): void {
  Notification.warning(message, { autoClose: 6000 });
}
