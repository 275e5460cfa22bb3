/** The Schedule dialog: a modal overlay holding the form (it stays open on errors). */
import * as React from 'react';

import { IJob } from './api';
import { ScheduleForm } from './components/ScheduleForm';
import { IContext } from './context';
import { Overlay } from './lab/overlay';
import { CommandIDs } from './tokens';

/** The server's kernelspecs, for the kernel picker. */
function kernels(ctx: IContext): { name: string; display: string }[] {
  const specs = ctx.app.serviceManager.kernelspecs.specs;
  return Object.values(specs?.kernelspecs || {}).flatMap(spec =>
    spec ? [{ name: spec.name, display: spec.display_name }] : []
  );
}

/** The form for a notebook (`path`, create mode) or a job (edit mode); done: the Jobs panel. */
export function openScheduleForm(ctx: IContext, target: { path?: string; job?: IJob }): void {
  const dialog: Overlay = new Overlay(() => (
    <ScheduleForm
      server={ctx.server}
      path={target.path}
      job={target.job}
      kernels={kernels(ctx)}
      onCancel={() => dialog.dispose()}
      onDone={() => {
        dialog.dispose();
        void ctx.app.commands.execute(CommandIDs.showJobs);
      }}
    />
  ));
  dialog.open();
}
