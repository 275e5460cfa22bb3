/**
 * The read-only `nbprod-run` drive: a run's output notebook read from the store through
 * `GET /nbprod/api/outputs/<run id>/<file>`, never copied into the user's folder. Every
 * write is refused; the file name (the tab's label) is the job and the run.
 */
import { Contents, ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { NbprodClient } from '../api';
import { DRIVE } from '../paths';

function refused(): Promise<never> {
  return Promise.reject(new Error('a run output is read-only (it is the stored original)'));
}

export class OutputsDrive implements Contents.IDrive {
  readonly name = DRIVE;
  readonly serverSettings: ServerConnection.ISettings;
  private changed = new Signal<this, Contents.IChangedArgs>(this);
  private disposed = false;

  constructor(
    private client: NbprodClient,
    settings?: ServerConnection.ISettings
  ) {
    this.serverSettings = settings ?? ServerConnection.makeSettings();
  }

  get fileChanged(): ISignal<this, Contents.IChangedArgs> {
    return this.changed;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    this.disposed = true;
    Signal.clearData(this);
  }

  async get(localPath: string, options?: Contents.IFetchOptions): Promise<Contents.IModel> {
    const model = await this.client.getOutput(localPath, options?.content !== false);
    return { ...model, path: localPath } as unknown as Contents.IModel;
  }

  getDownloadUrl(): Promise<string> {
    return refused();
  }
  newUntitled(): Promise<Contents.IModel> {
    return refused();
  }
  delete(): Promise<void> {
    return refused();
  }
  rename(): Promise<Contents.IModel> {
    return refused();
  }
  save(): Promise<Contents.IModel> {
    return refused();
  }
  copy(): Promise<Contents.IModel> {
    return refused();
  }
  createCheckpoint(): Promise<Contents.ICheckpointModel> {
    return refused();
  }
  async listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return [];
  }
  restoreCheckpoint(): Promise<void> {
    return refused();
  }
  deleteCheckpoint(): Promise<void> {
    return refused();
  }
}
