/**
 * nbprod for JupyterLab: a Schedule button on notebooks (toolbar, command palette, file
 * browser context menu) and a Jobs panel in the left sidebar.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showDialog, Dialog, ToolbarButton } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { LabIcon, ReactWidget } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { JobsPanel } from './components/JobsPanel';
import { IScheduleResult, ScheduleForm } from './components/ScheduleForm';
import { serverClient } from './api/connection';
import { ApiError, postJSON, requestAPI } from './handler';
import { makeServer } from './server';
import { API_VERSION, CommandIDs, IJob, IOpened, IRun, PANEL_ID } from './tokens';

const PLUGIN_ID = 'nbprod:plugin';

const clockSvg =
  '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
  '<g class="jp-icon3" fill="#616161"><path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 ' +
  '18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zm.5-13H11v6l5.2 3.2.8-1.3-4.5-2.7V7z"/></g></svg>';
export const scheduleIcon = new LabIcon({ name: 'nbprod:schedule', svgstr: clockSvg });

/** A modal overlay holding the Schedule form (stays open on validation errors). */
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

class Refresh {
  private signal = new Signal<this, void>(this);
  private slots = new Map<() => void, () => void>();
  connect(fn: () => void): void {
    const slot = () => fn();
    this.slots.set(fn, slot);
    this.signal.connect(slot);
  }
  disconnect(fn: () => void): void {
    const slot = this.slots.get(fn);
    if (slot) {
      this.signal.disconnect(slot);
      this.slots.delete(fn);
    }
  }
  emit(): void {
    this.signal.emit();
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Schedule notebooks as nbprod jobs and follow their runs.',
  autoStart: true,
  requires: [INotebookTracker, IDocumentManager],
  optional: [ICommandPalette, IFileBrowserFactory, ILabShell, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    docManager: IDocumentManager,
    palette: ICommandPalette | null,
    browserFactory: IFileBrowserFactory | null,
    labShell: ILabShell | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    let refreshSeconds = 2;
    const refresh = new Refresh();
    const server = makeServer(serverClient());

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const read = () => {
            refreshSeconds = Number(settings.get('refreshSeconds').composite) || 2;
          };
          read();
          settings.changed.connect(read);
        })
        .catch(() => undefined);
    }

    requestAPI<{ api_version: string }>('info')
      .then(info => {
        if (info.api_version !== API_VERSION) {
          console.warn(
            `nbprod: server API ${info.api_version}, extension expects ${API_VERSION}; ` +
              'reinstall nbprod so both match'
          );
        }
      })
      .catch((e: ApiError) => console.warn(`nbprod: server extension unavailable: ${e.message}`));

    const kernels = () => {
      const specs = app.serviceManager.kernelspecs.specs;
      return Object.values(specs?.kernelspecs || {}).map(spec => ({
        name: spec!.name,
        display: spec!.display_name
      }));
    };

    const showPanel = () => {
      app.shell.activateById(PANEL_ID);
      refresh.emit();
    };

    const openForm = (props: { path?: string; job?: IJob }) => {
      const dialog: ScheduleDialog = new ScheduleDialog(() => (
        <ScheduleForm
          server={server}
          path={props.path}
          job={props.job}
          kernels={kernels()}
          onCancel={() => dialog.dispose()}
          onDone={(result: IScheduleResult) => {
            dialog.dispose();
            showPanel();
            void result;
          }}
        />
      ));
      dialog.open();
    };

    /** The Schedule dialog for a notebook panel: saved first when it has unsaved edits. */
    const scheduleNotebook = async (panel: NotebookPanel) => {
      await panel.context.ready;
      if (panel.context.model.dirty) {
        await panel.context.save();
      }
      openForm({ path: panel.context.path });
    };

    app.commands.addCommand(CommandIDs.schedule, {
      label: 'Schedule Notebook…',
      caption: 'Run the active notebook now or on a schedule (nbprod)',
      icon: scheduleIcon,
      isEnabled: () => !!notebooks.currentWidget,
      execute: async () => {
        const panel = notebooks.currentWidget;
        if (panel) {
          await scheduleNotebook(panel);
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
          await scheduleNotebook(widget as unknown as NotebookPanel);
        }
      }
    });

    app.commands.addCommand(CommandIDs.showJobs, {
      label: 'Show nbprod Jobs',
      execute: showPanel
    });
    app.commands.addCommand(CommandIDs.refreshJobs, {
      label: 'Refresh nbprod Jobs',
      execute: () => refresh.emit()
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

    // The toolbar button: it acts on the notebook whose toolbar it is in.
    class ScheduleButton implements DocumentRegistry.IWidgetExtension<
      NotebookPanel,
      INotebookModel
    > {
      createNew(panel: NotebookPanel): IDisposable {
        const button = new ToolbarButton({
          className: 'nbprod-schedule-button',
          icon: scheduleIcon,
          label: 'Schedule',
          tooltip: 'Run this notebook now or on a schedule (nbprod)',
          onClick: () => void scheduleNotebook(panel)
        });
        panel.toolbar.insertItem(10, 'nbprod-schedule', button);
        return new DisposableDelegate(() => button.dispose());
      }
    }
    app.docRegistry.addWidgetExtension('Notebook', new ScheduleButton());

    // Output notebooks open as read-only copies under the contents root.
    const openOutput = async (run: IRun, atFailingCell: boolean) => {
      const opened = await postJSON<IOpened>(`runs/${encodeURIComponent(run.run_id)}/open`);
      const widget = docManager.openOrReveal(opened.path) as unknown as NotebookPanel | undefined;
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
    };

    const panelWidget = ReactWidget.create(
      <JobsPanel
        server={server}
        refreshSeconds={() => refreshSeconds}
        signal={refresh}
        actions={{
          edit: (job: IJob) => openForm({ job }),
          openOutput,
          confirm: async (title: string, body: string) => {
            const answer = await showDialog({
              title,
              body,
              buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
            });
            return answer.button.accept;
          }
        }}
      />
    );
    panelWidget.id = PANEL_ID;
    panelWidget.title.icon = scheduleIcon;
    panelWidget.title.caption = 'nbprod Jobs';
    panelWidget.addClass('nbprod-panel');
    if (labShell) {
      labShell.add(panelWidget, 'left', { rank: 600 });
    } else {
      app.shell.add(panelWidget, 'left', { rank: 600 });
    }
  }
};

export default plugin;
