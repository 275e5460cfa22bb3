/** Notification rows of the Schedule form ⇄ a job's `notifications` (event → targets). */
import { INotifyTarget } from '../api';

export interface INotifyRow {
  event: string;
  type: string;
  /** A webhook's URL, or e-mail addresses separated by commas. */
  target: string;
}

/** One row per target of a job's notifications. */
export function notifyRows(notifications: Record<string, INotifyTarget[]> = {}): INotifyRow[] {
  const rows: INotifyRow[] = [];
  for (const event of Object.keys(notifications)) {
    for (const target of notifications[event] || []) {
      const value =
        target.type === 'email'
          ? ([] as string[]).concat(target.to || []).join(', ')
          : target.url || '';
      rows.push({ event, type: target.type, target: value });
    }
  }
  return rows;
}

/** The rows as a job's notifications; rows with an empty target are left out. */
export function notificationsOf(rows: INotifyRow[]): Record<string, INotifyTarget[]> {
  const result: Record<string, INotifyTarget[]> = {};
  for (const row of rows) {
    if (!row.target.trim()) {
      continue;
    }
    const target: INotifyTarget =
      row.type === 'email'
        ? {
            type: 'email',
            to: row.target
              .split(',')
              .map(s => s.trim())
              .filter(Boolean)
          }
        : { type: row.type, url: row.target.trim() };
    (result[row.event] = result[row.event] || []).push(target);
  }
  return result;
}
