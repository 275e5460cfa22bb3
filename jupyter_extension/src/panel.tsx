/** The Jobs panel in the left sidebar, and opening a run's output notebook from it. */
import { ILabShell } from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IRun } from './api';
import { JobsPanel } from './components/JobsPanel';
import { IContext } from './context';
import { openScheduleForm } from './dialog';
import { scheduleIcon } from './icons';
import { PANEL_ID } from './tokens';

/** A run's output notebook as a read-only copy under the contents root, maybe at the
 * failing cell. */
async function openOutput(ctx: IContext, run: IRun, atFailingCell: boolean): Promise<void> {
  const opened = await ctx.server.client.openOutput(run.run_id);
  const widget = ctx.docManager.openOrReveal(opened.path) as unknown as NotebookPanel | undefined;
  if (!widget) {
    return;
  }
  await widget.context.ready;
  if (widget.content && widget.content.model) {
    widget.content.model.readOnly = true;
  }
  // (Not title.label: renaming a document's tab renames its file.)
  widget.title.caption = `Output of ${run.job} run ${run.run_id} (read-only copy)`;
  widget.title.className = `${widget.title.className} nbprod-readonly-tab`;
  widget.addClass('nbprod-output');
  const cell = opened.cell;
  if (atFailingCell && cell !== null && widget.content) {
    await widget.revealed;
    widget.content.activeCellIndex = cell;
    await widget.content.scrollToItem(cell, 'center');
    widget.content.activeCell?.addClass('nbprod-failing-cell');
  }
}

async function confirm(title: string, body: string): Promise<boolean> {
  const answer = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
  });
  return answer.button.accept;
}

export function addJobsPanel(ctx: IContext, labShell: ILabShell | null): void {
  const widget = ReactWidget.create(
    <JobsPanel
      server={ctx.server}
      refreshSeconds={ctx.refreshSeconds}
      signal={ctx.refresh}
      actions={{
        edit: job => openScheduleForm(ctx, { job }),
        openOutput: (run, atFailingCell) => openOutput(ctx, run, atFailingCell),
        confirm
      }}
    />
  );
  widget.id = PANEL_ID;
  widget.title.icon = scheduleIcon;
  widget.title.caption = 'nbprod Jobs';
  widget.addClass('nbprod-panel');
  (labShell || ctx.app.shell).add(widget, 'left', { rank: 600 });
}
