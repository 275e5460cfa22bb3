/**
 * The backfill form's logic, pure: a date range checked before the server is asked for its
 * fire times (the server checks again and answers 400 naming `from` or `to`).
 */

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A `YYYY-MM-DD` text as a real calendar date, or null (`2026-02-30` is none). */
export function parseDay(text: string): Date | null {
  if (!DAY.test(text)) {
    return null;
  }
  const date = new Date(`${text}T00:00:00Z`);
  return !isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text ? date : null;
}

/** The date `days` days before `today`, as `YYYY-MM-DD` (the form's default range). */
export function daysBefore(today: Date, days: number): string {
  const moment = new Date(
    Date.UTC(today.getFullYear(), today.getMonth(), today.getDate()) - days * 86_400_000
  );
  return moment.toISOString().slice(0, 10);
}

export interface IRangeError {
  field: 'from' | 'to';
  message: string;
}

/** What is wrong with a range (one field blamed), or null. `today` is `YYYY-MM-DD`. */
export function checkRange(from: string, to: string, today: string): IRangeError | null {
  const start = parseDay(from);
  if (!start) {
    return { field: 'from', message: 'a date like 2026-01-31' };
  }
  const end = parseDay(to);
  if (!end) {
    return { field: 'to', message: 'a date like 2026-01-31' };
  }
  if (start > end) {
    return { field: 'from', message: `after ${to}` };
  }
  if (from > today) {
    return { field: 'from', message: 'in the future: backfill runs past fire times' };
  }
  return null;
}

/** The count line shown before submitting. */
export function countText(count: number, first: string | null, last: string | null): string {
  if (count === 0) {
    return 'no fire time in this range';
  }
  const span =
    first && last && first !== last ? ` (${first} … ${last})` : first ? ` (${first})` : '';
  return `${count} run${count === 1 ? '' : 's'}${span}`;
}
