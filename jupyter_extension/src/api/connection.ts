/** The client wired to JupyterLab's server connection (base URL, token, XSRF header). */
import { ServerConnection } from '@jupyterlab/services';

import { NbprodClient } from './client';

export function serverClient(): NbprodClient {
  const settings = ServerConnection.makeSettings();
  return new NbprodClient(settings.baseUrl, (url, init) =>
    ServerConnection.makeRequest(url, init, settings)
  );
}
