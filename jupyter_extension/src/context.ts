/** What the extension's parts share: the app, the server, the trackers, the refresh signal. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { Signal } from '@lumino/signaling';

import { IServer } from './server';

/** Asks the Jobs panel to refresh now (its slots are plain functions). */
export class Refresh {
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

export interface IContext {
  app: JupyterFrontEnd;
  server: IServer;
  notebooks: INotebookTracker;
  docManager: IDocumentManager;
  browserFactory: IFileBrowserFactory | null;
  refresh: Refresh;
  /** The Jobs panel's refresh period (the user setting). */
  refreshSeconds: () => number;
  /** Where debug notebooks go (the user setting `debugFolder`). */
  debugFolder: () => string;
  /** Debug notebooks being re-run up to their failing cell (their selection waits). */
  debugReruns: Set<string>;
}
