/** What the template chooser says about a template (no JupyterLab import: jest tests it). */
import { ITemplate } from './api/types';

/** Ready (with what it imports), or what is missing and the pip command that fixes it. */
export function readiness(template: ITemplate): string {
  if (template.ready) {
    return template.requires.length ? `ready (${template.requires.join(', ')})` : 'ready';
  }
  return `needs ${template.missing.join(', ')}: ${template.install}`;
}
