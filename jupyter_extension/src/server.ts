/**
 * The server as the extension's components see it: the typed client and the server's rules
 * (`/info`'s `rules`), fetched once and shared; fetched again after a failure.
 */
import { EventSourceFactory, IInfo, IRules, NbprodClient } from './api';
import { API_VERSION } from './tokens';

export interface IServer {
  client: NbprodClient;
  rules(): Promise<IRules>;
  /** The run-change stream (none: the panel polls). */
  events: { url: string | null; connect: EventSourceFactory | null };
}

export function makeServer(
  client: NbprodClient,
  events: IServer['events'] = { url: null, connect: null }
): IServer {
  let info: Promise<IInfo> | null = null;
  const load = (): Promise<IInfo> => {
    if (!info) {
      info = client.info().then(answer => {
        if (answer.api_version !== API_VERSION) {
          console.warn(
            `nbprod: server API ${answer.api_version}, extension expects ${API_VERSION}; ` +
              'reinstall nbprod so both match'
          );
        }
        return answer;
      });
      info.catch(() => (info = null));
    }
    return info;
  };
  return { client, rules: async () => (await load()).rules, events };
}
