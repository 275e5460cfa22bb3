/**
 * "New Notebook from Template…": the launcher item and the File > New menu entry. It lists
 * the templates `nbprod templates list` lists (built-in and NBPROD_TEMPLATES), each with its
 * description and whether what it imports is installed, and writes the chosen one into the
 * file browser's folder through `POST /nbprod/api/templates` (the core's `nbprod new`).
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { Widget } from '@lumino/widgets';

import { ITemplate } from './api';
import { IContext } from './context';
import { readiness } from './templateText';
import { scheduleIcon } from './icons';
import { CommandIDs } from './tokens';

/** The dialog's body: one radio row per template; its value is the chosen name. */
class TemplateChooser extends Widget implements Dialog.IBodyWidget<string> {
  constructor(templates: ITemplate[]) {
    super();
    this.addClass('nbprod-template-chooser');
    templates.forEach((template, index) => {
      const row = document.createElement('label');
      row.className = 'nbprod-template';
      row.dataset.template = template.name;
      const radio = document.createElement('input');
      radio.type = 'radio';
      radio.name = 'nbprod-template';
      radio.value = template.name;
      radio.checked = index === 0;
      const text = document.createElement('span');
      const name = document.createElement('strong');
      name.textContent = template.name + (template.source === 'user' ? ' (yours)' : '');
      const description = document.createElement('span');
      description.className = 'nbprod-template-description';
      description.textContent = template.description;
      const ready = document.createElement('span');
      ready.className = template.ready ? 'nbprod-template-ready' : 'nbprod-template-missing';
      ready.textContent = readiness(template);
      text.append(name, description, ready);
      row.append(radio, text);
      this.node.appendChild(row);
    });
  }

  getValue(): string {
    const checked = this.node.querySelector<HTMLInputElement>('input:checked');
    return checked ? checked.value : '';
  }
}

async function newFromTemplate(ctx: IContext, folder: string): Promise<void> {
  const { client } = ctx.server;
  let templates: ITemplate[];
  try {
    templates = await client.listTemplates();
  } catch (error) {
    Notification.error(`nbprod templates: ${(error as Error).message}`);
    return;
  }
  const answer = await showDialog({
    title: 'New Notebook from Template',
    body: new TemplateChooser(templates),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Create' })]
  });
  if (!answer.button.accept || !answer.value) {
    return;
  }
  try {
    const created = await client.newFromTemplate(answer.value, folder);
    ctx.docManager.openOrReveal(created.path);
    if (created.missing.length) {
      Notification.warning(
        `${created.path} imports ${created.missing.join(', ')}, not installed here: ${created.install}`,
        { autoClose: false }
      );
    }
  } catch (error) {
    Notification.error(`nbprod new: ${(error as Error).message}`);
  }
}

export function addTemplateCommands(
  ctx: IContext,
  launcher: ILauncher | null,
  mainMenu: IMainMenu | null
): void {
  const { app, browserFactory } = ctx;
  app.commands.addCommand(CommandIDs.newFromTemplate, {
    label: args => (args.isLauncher ? 'From Template' : 'Notebook from Template…'),
    caption: 'A new notebook from an nbprod template (nbprod new)',
    icon: args => (args.isLauncher ? scheduleIcon : undefined),
    execute: args => {
      // The launcher passes its folder; the menu uses the file browser's.
      const cwd =
        typeof args.cwd === 'string'
          ? args.cwd
          : (browserFactory?.tracker.currentWidget?.model.path ?? '');
      return newFromTemplate(ctx, cwd);
    }
  });
  launcher?.add({ command: CommandIDs.newFromTemplate, category: 'Notebook', rank: 50 });
  mainMenu?.fileMenu.newMenu.addGroup([{ command: CommandIDs.newFromTemplate }], 40);
}
