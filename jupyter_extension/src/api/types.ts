/** The shapes of the REST API's answers and forms (specification/nbprod-api.yml). */

/** The type a parameter's text is parsed by, as the server says (`list[int]` is `list`). */
export type ParameterKind = 'int' | 'float' | 'str' | 'bool' | 'list' | 'dict' | 'any';

export interface IParameter {
  name: string;
  type: string;
  kind: ParameterKind;
  default: unknown;
  default_source: string;
  nullable: boolean;
  help: string;
  required: boolean;
}

export interface INotebookInfo {
  path: string | null;
  name: string;
  job: string;
  kernel: string;
  cell_index: number | null;
  parameters: IParameter[];
}

/** How the server reads parameter text (`-p NAME VALUE`): the words a form checks against. */
export interface IValueSyntax {
  null: string[];
  true: string[];
  false: string[];
  /** A regular expression a whole (trimmed) int matches. */
  int: string;
}

/** The server's rules the forms and the panel apply (`/info`'s `rules`). */
export interface IRules {
  job_name: { pattern: string; message: string };
  notification_events: string[];
  notification_targets: string[];
  active_statuses: string[];
  /** A cell's fragment in a run's browse page; `{index}` is the cell's index. */
  cell_anchor: string;
  values: IValueSyntax;
}

export interface IInfo {
  api_version: string;
  version: string;
  store: string;
  outputs_dir: string;
  embedded_scheduler: { state: string; name?: string; reason?: string; workers?: number };
  rules: IRules;
}

export interface ICronPreview {
  schedule: string | null;
  timezone: string;
  description: string;
  next: string[];
}

export interface INotifyTarget {
  type: string;
  url?: string;
  to?: string[] | string;
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

export interface IQueued {
  run_id: string;
  job: string;
  status: string;
}

export interface IOpened {
  path: string;
  run_id: string;
  status: string;
  cell: number | null;
}

/** Parameter values as text, parsed by the server like `-p NAME VALUE`. */
export type ParameterTexts = Record<string, string>;

/** `POST /runs`: run a notebook once. */
export interface IRunForm {
  path: string;
  name?: string;
  parameters?: ParameterTexts;
  kernel?: string;
  timeout?: string;
  store?: string;
}

/** `POST /jobs` (with `path`) and `PUT /jobs/{name}`. */
export interface IJobForm {
  name: string;
  path?: string;
  parameters?: ParameterTexts;
  kernel?: string;
  schedule?: string;
  timezone?: string;
  retries?: string;
  timeout?: string;
  notifications?: Record<string, INotifyTarget[]>;
  store?: string;
}

/** `GET /templates`: a notebook template (`nbprod templates list`). */
export interface ITemplate {
  name: string;
  description: string;
  source: 'built-in' | 'user';
  /** Distributions its notebook imports, and those not installed on the server. */
  requires: string[];
  missing: string[];
  ready: boolean;
  /** The pip command that makes it ready ('' when it is). */
  install: string;
  overrides: boolean;
}

/** `POST /templates`: the new notebook (path relative to the contents root). */
export interface ITemplateCreated {
  path: string;
  template: string;
  missing: string[];
  install: string;
}
