/** The client wired to JupyterLab's server connection (base URL, token, XSRF header), and
 * the event stream's URL and opener for the same server. */
import { ServerConnection } from '@jupyterlab/services';

import { NbprodClient } from './client';
import { EventSourceFactory, eventsUrl } from './live';

export function serverClient(): NbprodClient {
  const settings = ServerConnection.makeSettings();
  return new NbprodClient(settings.baseUrl, (url, init) =>
    ServerConnection.makeRequest(url, init, settings)
  );
}

/** The run-change stream of JupyterLab's server: its URL, and the browser's EventSource
 * (null where there is none: the panel polls). */
export function serverEvents(): { url: string; connect: EventSourceFactory | null } {
  const settings = ServerConnection.makeSettings();
  const connect =
    typeof EventSource === 'undefined'
      ? null
      : (url: string) => new EventSource(url, { withCredentials: true });
  return { url: eventsUrl(settings.baseUrl, settings.token), connect };
}
