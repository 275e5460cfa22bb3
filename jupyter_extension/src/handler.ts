/**
 * One request function for the REST API under `/nbprod/api/` (specification/nbprod-api.yml).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** An error answer of the API: status, one-line message, and the form field to blame. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field: string | null = null
  ) {
    super(message);
  }
}

export async function requestAPI<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'nbprod', 'api', endpoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(0, `cannot reach the server: ${error}`);
  }
  const text = await response.text();
  let data: { message?: string; field?: string } | null = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text.slice(0, 200) };
    }
  }
  if (!response.ok) {
    throw new ApiError(
      response.status,
      (data && data.message) || response.statusText,
      (data && data.field) || null
    );
  }
  return data as T;
}

export function postJSON<T>(endpoint: string, body: unknown = {}, method = 'POST'): Promise<T> {
  return requestAPI<T>(endpoint, { method, body: JSON.stringify(body) });
}

/** The browse UI's URL of a run (opens in a new tab). */
export function browseRunUrl(runId: string, cell?: number | null): string {
  const settings = ServerConnection.makeSettings();
  const hash = cell !== null && cell !== undefined ? `#cell-id=nbprod-${cell}` : '';
  return URLExt.join(settings.baseUrl, 'nbprod', 'runs', encodeURIComponent(runId)) + hash;
}
