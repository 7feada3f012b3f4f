/** Reveal the notebook cell a block of the generated module comes from. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';

import { ICellRef, findCell } from './blocks';

/** Open (or focus) the notebook at `path`, select the cell and scroll it into view. */
export async function revealCell(
  app: JupyterFrontEnd,
  path: string,
  cell: ICellRef
): Promise<void> {
  const panel = (await app.commands.execute('docmanager:open', {
    path
  })) as NotebookPanel | undefined;
  if (!panel || !(panel instanceof NotebookPanel)) {
    return;
  }
  await panel.context.ready;
  app.shell.activateById(panel.id);
  const notebook = panel.content;
  const ids = notebook.widgets.map(widget => widget.model.id);
  const position = findCell(ids, cell);
  if (position === null) {
    Notification.warning(
      `${path} has no ${cell.label} any more: regenerate the module.`,
      { autoClose: 5000 }
    );
    return;
  }
  notebook.deselectAll();
  notebook.activeCellIndex = position;
  await notebook.scrollToItem(position, 'center');
}
