/** Command ids and constants (the REST API's shapes are in api/types.ts). */

export const CommandIDs = {
  schedule: 'nbprod:schedule',
  scheduleFile: 'nbprod:schedule-file',
  showJobs: 'nbprod:show-jobs',
  refreshJobs: 'nbprod:refresh-jobs',
  newFromTemplate: 'nbprod:new-from-template'
} as const;

export const API_VERSION = '1';
export const PANEL_ID = 'nbprod-jobs-panel';
