/** Display helpers shared by the form and the panel. */
import type { IRunError } from './api/types';

/** An ISO time as the server wrote it (the job's timezone's wall clock, not the browser's). */
export function formatTime(iso: string | null): string {
  if (!iso) {
    return '—';
  }
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?(\.\d+)?(.*)$/.exec(iso);
  if (!match) {
    return iso;
  }
  const zone = match[5] === 'Z' || match[5] === '+00:00' ? ' UTC' : ` ${match[5]}`;
  return `${match[1]} ${match[2]}${zone}`;
}

/** A run's error as the panel shows it: `ename: evalue (cell 3)`, the cell named as the
 * server names it (`cell_label`: the author's count, as `nbprod exec` and the browse page
 * say it); records and servers without a label show the line alone. */
export function errorLine(error: IRunError): string {
  const line = `${error.ename}: ${error.evalue}`;
  return error.cell_label ? `${line} (${error.cell_label})` : line;
}
