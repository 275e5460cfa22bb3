/**
 * The extension's commands and where they show (palette, file browser context menu, the
 * notebook toolbar), kept out of the plugin's `activate`.
 */
import { ICommandPalette, ToolbarButton } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { IContext } from './context';
import { openScheduleForm } from './dialog';
import { scheduleIcon } from './icons';
import { isOutputPath } from './paths';
import { CommandIDs, PANEL_ID } from './tokens';

/** The Schedule dialog for a notebook panel: saved first when it has unsaved edits. */
export async function scheduleNotebook(ctx: IContext, panel: NotebookPanel): Promise<void> {
  await panel.context.ready;
  if (panel.context.model.dirty) {
    await panel.context.save();
  }
  openScheduleForm(ctx, { path: panel.context.path });
}

export function addCommands(ctx: IContext, palette: ICommandPalette | null): void {
  const { app, notebooks, docManager, browserFactory } = ctx;

  app.commands.addCommand(CommandIDs.schedule, {
    label: 'Schedule Notebook…',
    caption: 'Run the active notebook now or on a schedule (nbprod)',
    icon: scheduleIcon,
    isEnabled: () => !!notebooks.currentWidget,
    execute: async () => {
      const panel = notebooks.currentWidget;
      if (panel) {
        await scheduleNotebook(ctx, panel);
      }
    }
  });

  app.commands.addCommand(CommandIDs.scheduleFile, {
    label: 'Schedule Notebook…',
    icon: scheduleIcon,
    execute: async () => {
      const browser = browserFactory?.tracker.currentWidget;
      const item = browser?.selectedItems().next();
      const model = item && !item.done ? item.value : null;
      if (!model || !model.path.endsWith('.ipynb')) {
        return;
      }
      // The chosen file becomes the active notebook, then the dialog acts on it.
      const widget = docManager.openOrReveal(model.path);
      if (widget) {
        await widget.context.ready;
        await scheduleNotebook(ctx, widget as unknown as NotebookPanel);
      }
    }
  });

  app.commands.addCommand(CommandIDs.showJobs, {
    label: 'Show nbprod Jobs',
    execute: () => {
      app.shell.activateById(PANEL_ID);
      ctx.refresh.emit();
    }
  });

  app.commands.addCommand(CommandIDs.refreshJobs, {
    label: 'Refresh nbprod Jobs',
    execute: () => ctx.refresh.emit()
  });

  if (palette) {
    palette.addItem({ command: CommandIDs.schedule, category: 'nbprod' });
    palette.addItem({ command: CommandIDs.showJobs, category: 'nbprod' });
  }
  app.contextMenu.addItem({
    command: CommandIDs.scheduleFile,
    selector: '.jp-DirListing-item[data-file-type="notebook"]',
    rank: 20
  });
  app.docRegistry.addWidgetExtension('Notebook', new ScheduleButton(ctx));
}

/** The toolbar button: it acts on the notebook whose toolbar it is in. */
class ScheduleButton implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  constructor(private ctx: IContext) {}

  createNew(panel: NotebookPanel): IDisposable {
    if (isOutputPath(panel.context.path)) {
      return new DisposableDelegate(() => undefined); // a run's output: nothing to schedule
    }
    const button = new ToolbarButton({
      className: 'nbprod-schedule-button',
      icon: scheduleIcon,
      label: 'Schedule',
      tooltip: 'Run this notebook now or on a schedule (nbprod)',
      onClick: () => void scheduleNotebook(this.ctx, panel)
    });
    panel.toolbar.insertItem(10, 'nbprod-schedule', button);
    return new DisposableDelegate(() => button.dispose());
  }
}
