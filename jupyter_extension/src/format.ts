/** Display helpers shared by the form and the panel. */

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
