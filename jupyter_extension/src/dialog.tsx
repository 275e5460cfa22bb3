/** The Schedule dialog: a modal overlay holding the form (it stays open on errors). */
import { ReactWidget } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { IJob } from './api';
import { ScheduleForm } from './components/ScheduleForm';
import { IContext } from './context';
import { CommandIDs } from './tokens';

class ScheduleDialog extends ReactWidget {
  constructor(private element: () => JSX.Element) {
    super();
    this.addClass('nbprod-dialog');
    this.node.setAttribute('role', 'dialog');
  }

  render(): JSX.Element {
    return <div className="nbprod-dialog-content">{this.element()}</div>;
  }

  open(): void {
    Widget.attach(this, document.body);
  }
}

/** The server's kernelspecs, for the kernel picker. */
function kernels(ctx: IContext): { name: string; display: string }[] {
  const specs = ctx.app.serviceManager.kernelspecs.specs;
  return Object.values(specs?.kernelspecs || {}).flatMap(spec =>
    spec ? [{ name: spec.name, display: spec.display_name }] : []
  );
}

/** The form for a notebook (`path`, create mode) or a job (edit mode); done: the Jobs panel. */
export function openScheduleForm(ctx: IContext, target: { path?: string; job?: IJob }): void {
  const dialog: ScheduleDialog = new ScheduleDialog(() => (
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
