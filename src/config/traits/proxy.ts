/** Proxy traits (proxy.md §7.1). */
import type { ClassDef } from '../types.js';
import { bool, command, dict, enumT, int, unicode } from './helpers.js';

export const Proxy: ClassDef = {
  name: 'Proxy',
  help: 'Settings common to every proxy implementation.',
  aliases: ['jupyterhub.proxy.Proxy'],
  traits: [
    bool('should_start', true, 'Let the hub start and stop the proxy; False means the proxy is managed separately.'),
    dict('extra_routes', {}, 'Additional proxy routes kept in place by the hub: routespec -> target URL.', { items: 'Unicode' }),
  ],
};

export const ConfigurableHTTPProxy: ClassDef = {
  name: 'ConfigurableHTTPProxy',
  parent: 'Proxy',
  help: 'The configurable-http-proxy (CHP) process and how the hub talks to its API.',
  aliases: ['default', 'configurable-http-proxy', 'jupyterhub.proxy.ConfigurableHTTPProxy'],
  traits: [
    command('command', ['jhub-proxy'], "Executable (and leading arguments) that starts the proxy. The default is jhub's own proxy; ['configurable-http-proxy'] runs the Node original if it is installed."),
    unicode('api_url', 'http://127.0.0.1:8001', "URL of the proxy's REST API.", {
      dynamicDefault: (ctx) => {
        const proto = ctx.get('JupyterHub', 'internal_ssl') ? 'https' : 'http';
        const ip = (ctx.get('JupyterHub', 'proxy_api_ip') as string) || '127.0.0.1';
        const port = (ctx.get('JupyterHub', 'proxy_api_port') as number) || 8001;
        return `${proto}://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
      },
      defaultText: "'http://127.0.0.1:8001' ('https' with internal_ssl)",
    }),
    unicode('auth_token', '', 'Token for the proxy API; when empty and the hub starts the proxy, a random one is made at each start.', {
      dynamicDefault: (ctx) => ctx.env.CONFIGPROXY_AUTH_TOKEN ?? '',
      defaultText: '$CONFIGPROXY_AUTH_TOKEN',
    }),
    unicode('pid_file', 'jupyterhub-proxy.pid', 'File holding the process id of the proxy started by the hub.'),
    int('check_running_interval', 5, 'Seconds between checks that the proxy process is alive.', { min: 1 }),
    int('concurrency', 10, 'Largest number of API requests to the proxy at once.', { min: 1 }),
    enumT('log_level', ['debug', 'info', 'warn', 'error'], 'info', 'Log level passed to the proxy.', {
      validate: (v) => String(v).toLowerCase(),
    }),
    bool('debug', false, 'Run the proxy with debug logging.'),
  ],
};
