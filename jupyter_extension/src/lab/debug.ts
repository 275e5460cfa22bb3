/**
 * *Debug in JupyterLab*: a failed run's debug notebook (its input snapshot with its exact
 * parameters, written by the server) opened with the run's kernel, the failing cell
 * selected; *Re-run up to the failing cell* first executes every cell before it.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';

import { IRun } from '../api';
import { IContext } from '../context';
import { cellsBefore, debugFolder } from '../paths';

const OPEN = 'Open notebook';
const RERUN = 'Re-run up to the failing cell';

/** Ask which way, then debug; false when the user cancelled. */
export async function debugRun(ctx: IContext, run: IRun): Promise<boolean> {
  const answer = await showDialog({
    title: `Debug ${run.job} run ${run.run_id}`,
    body:
      "A new notebook from the run's input snapshot with its parameters injected, on a " +
      `kernel of its kernelspec, in ${debugFolder(ctx.debugFolder())}/. ` +
      `"${RERUN}" also executes every cell before the failing one: their side effects ` +
      '(files written, tables changed, messages sent) happen again.',
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: OPEN, className: 'nbprod-debug-open' }),
      Dialog.okButton({ label: RERUN, className: 'nbprod-debug-rerun' })
    ]
  });
  if (!answer.button.accept) {
    return false;
  }
  await openDebugNotebook(ctx, run, answer.button.label === RERUN);
  return true;
}

export async function openDebugNotebook(ctx: IContext, run: IRun, rerun: boolean): Promise<void> {
  const written = await ctx.server.client.debugRun(run.run_id, debugFolder(ctx.debugFolder()));
  if (rerun) {
    ctx.debugReruns.add(written.path); // DebugNotebookExtension leaves its selection to us
  }
  const panel = ctx.docManager.open(written.path, 'Notebook', {
    name: written.kernel
  }) as unknown as NotebookPanel | undefined;
  if (!panel) {
    return;
  }
  await panel.context.ready;
  await panel.revealed;
  const failing = written.cell;
  if (rerun && failing !== null && failing > 0) {
    await panel.sessionContext.ready;
    const notebook = panel.content;
    notebook.activeCellIndex = 0;
    notebook.deselectAll();
    notebook.extendContiguousSelectionTo(cellsBefore(failing).length - 1);
    try {
      await NotebookActions.run(notebook, panel.sessionContext);
    } finally {
      ctx.debugReruns.delete(written.path);
    }
  }
  await selectFailingCell(panel, failing);
}

/** Select and reveal the failing cell; `data-nbprod-debug="ready"` on the panel after. */
async function selectFailingCell(panel: NotebookPanel, cell: number | null): Promise<void> {
  const notebook = panel.content;
  if (cell !== null && cell < notebook.widgets.length) {
    notebook.deselectAll();
    notebook.activeCellIndex = cell;
    notebook.mode = 'command';
    await notebook.scrollToItem(cell, 'center');
    notebook.activeCell?.addClass('nbprod-failing-cell');
  }
  panel.node.dataset.nbprodDebug = 'ready';
}

/** A debug notebook opened any way (the browse page's link, the file browser): its failing
 * cell, from `metadata.nbprod_debug`, is selected. */
export class DebugNotebookExtension implements DocumentRegistry.IWidgetExtension<
  NotebookPanel,
  INotebookModel
> {
  /** Paths of debug notebooks being re-run up to their failing cell. */
  constructor(private reruns: Set<string>) {}

  createNew(panel: NotebookPanel): IDisposable {
    let disposed = false;
    void panel.context.ready.then(async () => {
      const meta = panel.context.model.getMetadata('nbprod_debug') as
        { failing_cell?: number | null } | undefined;
      if (!meta || disposed) {
        return;
      }
      panel.addClass('nbprod-debug');
      await panel.revealed;
      if (!this.reruns.has(panel.context.path)) {
        await selectFailingCell(panel, meta.failing_cell ?? null);
      }
    });
    return {
      get isDisposed() {
        return disposed;
      },
      dispose: () => {
        disposed = true;
      }
    };
  }
}
