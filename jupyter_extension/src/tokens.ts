/** Command ids and the shapes of the REST API's answers. */

export const CommandIDs = {
  schedule: 'nbprod:schedule',
  scheduleFile: 'nbprod:schedule-file',
  showJobs: 'nbprod:show-jobs',
  refreshJobs: 'nbprod:refresh-jobs'
} as const;

export const API_VERSION = '1';
export const PANEL_ID = 'nbprod-jobs-panel';

export interface IParameter {
  name: string;
  type: string;
  default: unknown;
  default_source: string;
  nullable: boolean;
  help: string;
  required: boolean;
}

export interface INotebookInfo {
  path: string;
  name: string;
  job: string;
  kernel: string;
  cell_index: number | null;
  parameters: IParameter[];
}

export interface ICronPreview {
  schedule: string | null;
  timezone: string;
  description: string;
  next: string[];
}

export interface IJob {
  name: string;
  version: number;
  paused: boolean;
  schedule: string | null;
  timezone: string;
  next_runs: string[];
  next_run: string | null;
  last_status: string | null;
  last_run_id: string | null;
  description?: string;
  definition: IDefinition;
}

export interface IDefinition {
  name: string;
  notebook: string;
  parameters: Record<string, unknown>;
  schedule: string | null;
  timezone: string;
  kernel: string | null;
  timeout: number | null;
  retries: number;
  notifications: Record<string, INotifyTarget[]>;
  store: string | null;
  description: string;
}

export interface INotifyTarget {
  type: string;
  url?: string;
  to?: string[] | string;
}

export interface IRun {
  run_id: string;
  job: string;
  status: string;
  trigger: string | null;
  attempt: number;
  started_at: string | null;
  finished_at: string | null;
  duration_s: number | null;
  progress: { cells_done: number; cells_total: number };
  parameters: Record<string, unknown>;
  error: { ename: string; evalue: string; cell_index: number | null } | null;
  output: string | null;
  cancel_requested?: boolean;
}

export interface IOpened {
  path: string;
  run_id: string;
  status: string;
  cell: number | null;
}
