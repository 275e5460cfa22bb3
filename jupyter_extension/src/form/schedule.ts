/** The schedule presets of the Schedule form (the cron text itself is the server's to read). */

export const CUSTOM = 'custom';

export const PRESETS: { label: string; cron: string }[] = [
  { label: 'On demand only (no schedule)', cron: '' },
  { label: 'Every hour', cron: '@hourly' },
  { label: 'Every day at 07:00', cron: '0 7 * * *' },
  { label: 'Weekdays at 07:00', cron: '0 7 * * 1-5' },
  { label: 'Every Monday at 07:00', cron: '0 7 * * 1' },
  { label: 'First of the month at 07:00', cron: '0 7 1 * *' },
  { label: 'Every 15 minutes', cron: '*/15 * * * *' },
  { label: 'Custom cron expression', cron: CUSTOM }
];

/** The preset a cron expression is, or CUSTOM. */
export function presetOf(cron: string): string {
  const found = PRESETS.find(p => p.cron === cron);
  return found ? found.cron : CUSTOM;
}
