/** `Application` and `JupyterHub` traits (config.md §3, rbac.md §8–9). */
import { cpus } from 'node:os';
import type { ClassDef } from '../types.js';
import {
  any, bool, callable, command, deprecated, dict, enumT, float, int, list, LOG_LEVELS, normalizeLogLevel, set, tuple, union, unicode,
} from './helpers.js';

const HUB_LOG_FORMAT =
  '%(color)s[%(levelname)1.1s %(asctime)s.%(msecs).03d %(name)s %(module)s:%(lineno)d]%(end_color)s %(message)s';

export const Application: ClassDef = {
  name: 'Application',
  help: 'Settings shared by every jhub command-line application (logging, config display).',
  traits: [
    enumT('log_level', LOG_LEVELS, 'WARN', 'Minimum severity of log messages that are written (name or number).', {
      validate: normalizeLogLevel,
    }),
    unicode('log_format', '[%(name)s]%(highlevel)s %(message)s', 'Layout of log lines, in Python logging format syntax.'),
    unicode('log_datefmt', '%Y-%m-%d %H:%M:%S', 'strftime-style layout of the time stamp in log lines.'),
    dict('logging_config', {}, 'Extra logging configuration merged into the logging setup (dictConfig layout).'),
    bool('show_config', false, 'Print the effective configuration instead of starting, then exit.'),
    bool('show_config_json', false, 'Like show_config, but print the configuration as JSON.'),
  ],
};

export const JupyterHub: ClassDef = {
  name: 'JupyterHub',
  parent: 'Application',
  help: 'The hub process: network layout, database, security, components and limits.',
  aliases: ['jupyterhub.app.JupyterHub'],
  traits: [
    // §3.1 network and URLs
    unicode('bind_url', 'http://:8000', 'Public URL the proxy listens on; its scheme, host, port and path also set ip, port and base_url.', {
      dynamicDefault: (ctx) => (ctx.get('JupyterHub', 'ssl_cert') ? 'https' : 'http') + '://:8000',
      defaultText: "'http://:8000' ('https://:8000' when ssl_cert is set)",
    }),
    unicode('ip', '', 'Public address the proxy listens on; empty means every interface.'),
    int('port', 8000, 'Public TCP port of the proxy.', { min: 0 }),
    { name: 'base_url', type: 'URLPrefix', default: '/', help: 'Path prefix under which the whole hub is served; always begins and ends with a slash.' },
    unicode('public_url', '', 'Complete external URL of the hub (scheme, host and base_url). Setting it turns off guessing the host from requests.'),
    unicode('subdomain_host', '', 'Domain under which each user gets a subdomain (e.g. https://hub.example.org); empty disables subdomains.'),
    union('subdomain_hook', ['Unicode', 'Callable'], 'idna', "How a user's subdomain is derived: 'idna', 'legacy', or a function (name, domain, kind) returning the host."),
    unicode('hub_ip', '127.0.0.1', 'Address the hub itself listens on for traffic from the proxy, servers and services.'),
    int('hub_port', 8081, 'TCP port the hub itself listens on.', { min: 0 }),
    unicode('hub_bind_url', '', 'Full URL the hub binds to (may be unix+http://<escaped socket path>); overrides hub_ip/hub_port.'),
    unicode('hub_connect_ip', '', 'Host name or address that proxy, servers and services use to contact the hub, when it differs from hub_ip.'),
    unicode('hub_connect_url', '', 'Complete URL that other components use to contact the hub; wins over hub_connect_ip.'),
    int('hub_connect_port', 0, 'Obsolete; use hub_connect_url instead.', deprecated('0.8', undefined, 'use JupyterHub.hub_connect_url')),
    unicode('hub_routespec', '/', "Proxy route that leads to the hub (e.g. '/hub/' or 'hub.domain/')."),
    unicode('ssl_key', '', 'Private key file for HTTPS on the public proxy port.'),
    unicode('ssl_cert', '', 'Certificate file for HTTPS on the public proxy port.'),
    list('trusted_downstream_ips', [], 'Addresses of reverse proxies in front of the hub whose X-Forwarded-For entries are skipped.', { items: 'Unicode' }),
    unicode('forwarded_host_header', '', 'Request header to trust instead of Host when checking the origin of requests.'),
    union('default_url', ['Unicode', 'Callable'], null, "Where '/' sends users; a path or a function (handler) returning one. Unset: the user's server or home page.", { allowNone: true }),
    bool('redirect_to_server', true, 'After login, go to the user server (starting it if needed) rather than to the home page.'),
    callable('user_redirect_hook', 'Function (path, request, user, base_url) returning the URL for /user-redirect/ requests, or None to use the default.'),
    dict('tornado_settings', {}, 'Extra web server settings: headers, cookie_options, xsrf_cookie_kwargs, slow_spawn_timeout, slow_stop_timeout, ...'),
    // §3.2 database, state, security
    unicode('db_url', 'sqlite:///jupyterhub.sqlite', 'Database URL in SQLAlchemy form (sqlite:///file, postgresql://..., mysql+driver://...).'),
    dict('db_kwargs', {}, 'Additional keyword arguments for the database connection.'),
    bool('reset_db', false, 'Drop and recreate all database tables at startup (destroys all state).'),
    bool('upgrade_db', false, 'Migrate the database schema at startup (SQLite files are backed up first).'),
    bool('debug_db', false, 'Log every SQL statement.'),
    union('cookie_secret', ['Bytes', 'Unicode'], null, 'Key signing the login cookies: bytes, or a string of hex digits. Unset: $JPY_COOKIE_SECRET or cookie_secret_file.', {
      allowNone: true,
      defaultText: '$JPY_COOKIE_SECRET or the content of cookie_secret_file',
    }),
    unicode('cookie_secret_file', 'jupyterhub_cookie_secret', 'File holding the cookie secret as hex digits; created with mode 0600 if missing.'),
    float('cookie_max_age_days', 14, 'Number of days a login cookie stays valid.', { min: 0 }),
    bool('cookie_host_prefix_enabled', false, "Name cookies with the '__Host-' prefix (path '/')."),
    int('oauth_token_expires_in', 0, 'Lifetime in seconds of OAuth access tokens issued by the hub.', {
      dynamicDefault: (ctx) => Math.round(Number(ctx.get('JupyterHub', 'cookie_max_age_days')) * 86400),
      defaultText: 'cookie_max_age_days * 86400',
    }),
    int('token_expires_in_max_seconds', 0, 'Upper bound in seconds for the lifetime of tokens requested through the API (0: no bound).', { min: 0 }),
    dict('api_tokens', {}, 'Tokens to preload, mapping token to user name (pending deprecation: prefer services or roles).', { items: 'Unicode' }),
    dict('service_tokens', {}, 'Tokens to preload, mapping token to service name.', { items: 'Unicode' }),
    bool('trust_user_provided_tokens', false, 'Treat tokens from the configuration as random enough to skip slow hashing.'),
    unicode('pid_file', '', 'File to write the hub process id to (empty: none).'),
    unicode('data_files_path', '', 'Directory holding templates and static files.', { defaultText: 'the directory shipped with jhub' }),
    bool('internal_ssl', false, 'Use TLS with client certificates between hub, proxy and servers.'),
    unicode('internal_certs_location', 'internal-ssl', 'Directory where internal TLS certificates are kept.'),
    bool('recreate_internal_certs', false, 'Regenerate the internal TLS certificates at startup.'),
    dict('external_ssl_authorities', {}, 'Certificate authorities supplied from outside, by role (hub-ca, notebooks-ca, proxy-api-ca, proxy-client-ca, services-ca).'),
    list('trusted_alt_names', [], 'Additional subjectAltName entries for internal certificates.', { items: 'Unicode' }),
    bool('generate_certs', false, 'Create the internal TLS certificates and exit.'),
    // §3.3 classes
    { name: 'authenticator_class', type: 'Type', kind: 'authenticator', default: 'PAMAuthenticator', defaultText: 'jupyterhub.auth.PAMAuthenticator', help: "Class that logs users in: an alias ('pam', 'dummy', 'generic-oauth', ...), a dotted name, or a class." },
    { name: 'spawner_class', type: 'Type', kind: 'spawner', default: 'LocalProcessSpawner', defaultText: 'jupyterhub.spawner.LocalProcessSpawner', help: "Class that starts user servers: an alias ('localprocess', 'simple', ...), a dotted name, or a class." },
    { name: 'proxy_class', type: 'Type', kind: 'proxy', default: 'ConfigurableHTTPProxy', defaultText: 'jupyterhub.proxy.ConfigurableHTTPProxy', help: "Class that manages the proxy: 'configurable-http-proxy' (the default) or a dotted name." },
    bool('cleanup_servers', true, 'Stop user servers when the hub shuts down.'),
    bool('cleanup_proxy', true, 'Stop the proxy when the hub shuts down, if the hub started it.'),
    // §3.4 users, groups, roles, services
    list('load_roles', [], 'Roles to create or update at startup: dicts with name, description, scopes, users, groups, services.', { items: 'Dict' }),
    dict('custom_scopes', {}, "Extra scopes ('custom:...') usable in roles, mapping name to a dict with description and optional subscopes."),
    dict('load_groups', {}, 'Groups to create at startup: name -> {"users": [...], "properties": {...}} (a plain list of users is accepted too).'),
    list('services', [], 'Services known to the hub: dicts with name, and url/command/api_token/environment/user/cwd/oauth options...', { items: 'Dict' }),
    bool('allow_named_servers', false, 'Let users run several named servers besides their default one.'),
    union('named_server_limit_per_user', ['Int', 'Callable'], 0, 'Maximum named servers per user (0: no limit), or a function (handler) returning it.'),
    unicode('default_server_name', '', 'Named server that /user-redirect/ uses when named servers are enabled.'),
    set('admin_users', [], 'Obsolete location of the admin list.', { items: 'Unicode', ...deprecated('0.7.2', 'Authenticator.admin_users') }),
    bool('admin_access', false, 'Obsolete: admins reach user servers through scopes now.', deprecated('2.0')),
    bool('shutdown_on_logout', false, "Stop the user's servers when the user logs out."),
    // §3.5 limits and timing
    int('concurrent_spawn_limit', 100, 'Largest number of server starts in progress at once (0: unlimited); more get HTTP 429.', { min: 0 }),
    int('active_server_limit', 0, 'Largest number of running servers (0: unlimited); more get HTTP 429.', { min: 0 }),
    tuple('spawn_throttle_retry_range', [30, 60], 'Range (low, high) of the Retry-After seconds sent with HTTP 429 answers.', { items: 'Int' }),
    int('init_spawners_timeout', 10, 'Seconds to wait at startup for the state checks of existing servers before serving (-1: wait for all).'),
    float('implicit_spawn_seconds', 0, 'Seconds after which the "not running" page starts the server on its own (0: never).', { min: 0 }),
    bool('use_legacy_stopped_server_status_code', false, 'Answer requests for stopped servers with 503 instead of 424.'),
    int('last_activity_interval', 300, 'Seconds between activity collections from the proxy (and route checks).'),
    int('activity_resolution', 30, 'Smallest interval in seconds between two stored activity updates.'),
    int('active_user_window', 1800, 'Window in seconds within which a user counts as active for statistics.'),
    int('service_check_interval', 60, 'Seconds between health checks of services.'),
    // §3.6 API, templates, logging, metrics
    int('api_page_default_limit', 50, 'Page size used when a paginated API request gives no limit.', { min: 1 }),
    int('api_page_max_limit', 200, 'Largest page size for API requests (also what non-paginating clients get).', { min: 1 }),
    bool('authenticate_prometheus', true, 'Require the read:metrics scope for /hub/metrics.'),
    unicode('statsd_host', '', 'Host of a statsd server to send metrics to (empty: disabled).'),
    int('statsd_port', 8125, 'Port of the statsd server.'),
    unicode('statsd_prefix', 'jupyterhub', 'Prefix of statsd metric names.'),
    list('template_paths', [], 'Directories searched for page templates before the built-in ones.', { items: 'Unicode' }),
    dict('template_vars', {}, 'Extra variables for page templates; a value may be a function (user) returning it.'),
    dict('jinja_environment_options', {}, 'Options for the template engine.'),
    list('extra_static_paths', [], 'jhub extension: extra directories searched for files under /hub/static/ before the built-in ones.', { items: 'Unicode' }),
    unicode('logo_file', '', 'Image served as /hub/logo instead of the built-in logo.'),
    enumT('log_level', LOG_LEVELS, 'INFO', 'Minimum severity of log messages that are written (name or number).', { validate: normalizeLogLevel }),
    unicode('log_format', HUB_LOG_FORMAT, 'Layout of log lines, in Python logging format syntax.'),
    bool('log_json', false, 'jhub extension: write each log event as one JSON object per line (for log collectors) instead of text lines. Also set by --log-json or JHUB_LOG_FORMAT=json.'),
    list('extra_log_handlers', [], 'Additional log handlers (not supported by jhub; accepted for compatibility).'),
    unicode('extra_log_file', '', 'Obsolete: redirect output with the shell or a service manager instead.', deprecated('0.8.2')),
    list('extra_handlers', [], 'Obsolete: additional URL handlers of the Python hub; use services instead.', deprecated('3.0')),
    bool('answer_yes', false, 'Answer yes to every question (e.g. overwriting the generated config file).'),
    bool('generate_config', false, 'Write a commented default config file and exit.'),
    unicode('config_file', 'jupyterhub_config.py', 'The configuration file to load.'),
    // §3.7 deprecated proxy traits
    command('proxy_cmd', ['configurable-http-proxy'], 'Obsolete location of the proxy command.', deprecated('0.8', 'ConfigurableHTTPProxy.command')),
    unicode('proxy_api_ip', '', 'Obsolete: use ConfigurableHTTPProxy.api_url (still used to build its default).', deprecated('0.8', undefined, 'use ConfigurableHTTPProxy.api_url')),
    int('proxy_api_port', 0, 'Obsolete: use ConfigurableHTTPProxy.api_url (still used to build its default).', deprecated('0.8', undefined, 'use ConfigurableHTTPProxy.api_url')),
    unicode('proxy_auth_token', '', 'Obsolete location of the proxy API token.', deprecated('0.8', 'ConfigurableHTTPProxy.auth_token')),
    int('proxy_check_interval', 5, 'Obsolete location of the proxy liveness check period.', deprecated('0.8', 'ConfigurableHTTPProxy.check_running_interval')),
    bool('debug_proxy', false, 'Obsolete location of the proxy debug switch.', deprecated('0.8', 'ConfigurableHTTPProxy.debug')),
    bool('confirm_no_ssl', false, 'Obsolete; has no effect.', deprecated('0.8')),
    // display only
    any('jupyterhub_version', null, 'Not a setting: ignored (accepted so that configs that set it load).', { allowNone: true }),
  ],
};

export const CryptKeeper: ClassDef = {
  name: 'CryptKeeper',
  help: 'Encryption of auth_state in the database.',
  aliases: ['jupyterhub.crypto.CryptKeeper'],
  traits: [
    list('keys', [], 'Encryption keys (32 bytes each: hex, URL-safe base64 or raw); the first encrypts, all decrypt.', {
      dynamicDefault: (ctx) => (ctx.env.JUPYTERHUB_CRYPT_KEY ?? '').split(';').map((s) => s.trim()).filter(Boolean),
      defaultText: "$JUPYTERHUB_CRYPT_KEY split on ';'",
    }),
    int('n_threads', 1, 'Worker threads for encryption.', {
      dynamicDefault: () => Math.max(cpuCount(), 1),
      defaultText: 'number of CPUs',
      min: 1,
    }),
  ],
};

function cpuCount(): number {
  try {
    return cpus().length;
  } catch {
    return 1;
  }
}
