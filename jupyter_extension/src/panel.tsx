/** The Jobs panel in the left sidebar, and opening a run's output notebook from it. */
import { ILabShell } from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { NotebookPanel } from '@jupyterlab/notebook';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IJob, IRun } from './api';
import { BackfillForm } from './components/BackfillForm';
import { JobsPanel } from './components/JobsPanel';
import { IContext } from './context';
import { openScheduleForm } from './dialog';
import { scheduleIcon } from './icons';
import { debugRun } from './lab/debug';
import { Overlay } from './lab/overlay';
import { outputPath } from './paths';
import { PANEL_ID } from './tokens';

/** A run's output notebook, read-only from the store through the `nbprod-run` drive
 * (nothing is written into the user's folder), maybe at the failing cell. */
async function openOutput(ctx: IContext, run: IRun, atFailingCell: boolean): Promise<void> {
  const path = outputPath(run.job, run.run_id);
  const widget = ctx.docManager.openOrReveal(path, 'Notebook', undefined) as unknown as
    NotebookPanel | undefined;
  if (!widget) {
    return;
  }
  await widget.context.ready;
  if (widget.content && widget.content.model) {
    widget.content.model.readOnly = true;
  }
  // The tab's label is the drive's file name: the job and the run.
  widget.title.caption = `Output of ${run.job} run ${run.run_id} (read-only, from the store)`;
  if (!widget.title.className.includes('nbprod-readonly-tab')) {
    widget.title.className = `${widget.title.className} nbprod-readonly-tab`;
  }
  widget.addClass('nbprod-output');
  const cell = run.error?.cell_index ?? null;
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

/** The backfill form of a job, in an overlay; `done` refreshes the panel. */
function openBackfill(ctx: IContext, job: IJob, done: () => void): void {
  const overlay: Overlay = new Overlay(() => (
    <BackfillForm
      client={ctx.server.client}
      job={job}
      onCancel={() => overlay.dispose()}
      onDone={() => {
        overlay.dispose();
        done();
      }}
    />
  ));
  overlay.open();
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
        confirm,
        debug: run => debugRun(ctx, run),
        backfill: (job, done) => openBackfill(ctx, job, done)
      }}
    />
  );
  widget.id = PANEL_ID;
  widget.title.icon = scheduleIcon;
  widget.title.caption = 'nbprod Jobs';
  widget.addClass('nbprod-panel');
  (labShell || ctx.app.shell).add(widget, 'left', { rank: 600 });
}
