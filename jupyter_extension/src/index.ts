/**
 * nbprod for JupyterLab: a Schedule button on notebooks (toolbar, command palette, file
 * browser context menu) and a Jobs panel in the left sidebar.
 */
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { serverClient, serverEvents } from './api/connection';
import { addCommands } from './commands';
import { IContext, Refresh } from './context';
import { DebugNotebookExtension } from './lab/debug';
import { OutputsDrive } from './lab/outputs';
import { addJobsPanel } from './panel';
import { makeServer } from './server';
import { addTemplateCommands } from './templates';

export { scheduleIcon } from './icons';

const PLUGIN_ID = 'nbprod:plugin';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Schedule notebooks as nbprod jobs and follow their runs.',
  autoStart: true,
  requires: [INotebookTracker, IDocumentManager],
  optional: [
    ICommandPalette,
    IFileBrowserFactory,
    ILabShell,
    ISettingRegistry,
    ILauncher,
    IMainMenu
  ],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    docManager: IDocumentManager,
    palette: ICommandPalette | null,
    browserFactory: IFileBrowserFactory | null,
    labShell: ILabShell | null,
    settingRegistry: ISettingRegistry | null,
    launcher: ILauncher | null,
    mainMenu: IMainMenu | null
  ) => {
    let refreshSeconds = 2;
    let debugFolder = 'nbprod-debug';
    settingRegistry
      ?.load(PLUGIN_ID)
      .then(settings => {
        const read = () => {
          refreshSeconds = Number(settings.get('refreshSeconds').composite) || 2;
          debugFolder = String(settings.get('debugFolder').composite || 'nbprod-debug');
        };
        read();
        settings.changed.connect(read);
      })
      .catch(() => undefined);

    const server = makeServer(serverClient(), serverEvents());
    // The version handshake, early: a missing server extension is reported in the console.
    server.rules().catch(e => console.warn(`nbprod: server extension unavailable: ${e.message}`));

    const ctx: IContext = {
      app,
      server,
      notebooks,
      docManager,
      browserFactory,
      refresh: new Refresh(),
      refreshSeconds: () => refreshSeconds,
      debugFolder: () => debugFolder,
      debugReruns: new Set<string>()
    };
    app.serviceManager.contents.addDrive(new OutputsDrive(server.client));
    app.docRegistry.addWidgetExtension('Notebook', new DebugNotebookExtension(ctx.debugReruns));
    addCommands(ctx, palette);
    addJobsPanel(ctx, labShell);
    addTemplateCommands(ctx, launcher, mainMenu);
  }
};

export default plugin;
