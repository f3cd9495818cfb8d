/** Spawner traits (config.md §4). */
import type { ClassDef } from '../types.js';
import { bool, bytespec, callable, command, deprecated, dict, float, int, list, tuple, union, unicode } from './helpers.js';

export const Spawner: ClassDef = {
  name: 'Spawner',
  help: 'Settings common to every spawner (the component that starts single-user servers).',
  aliases: ['jupyterhub.spawner.Spawner'],
  traits: [
    command('cmd', ['jupyterhub-singleuser'], 'Command that starts the single-user server.'),
    list('args', [], 'Extra arguments appended to cmd.', { items: 'Unicode' }),
    dict('environment', {}, 'Extra environment variables for the server, applied last; a value may be a function (spawner) returning the string.'),
    list('env_keep', ['JUPYTERHUB_SINGLEUSER_APP'], 'Names of hub environment variables passed on to the server.', { items: 'Unicode' }),
    unicode('ip', '127.0.0.1', "Address the server listens on ('' means every interface)."),
    int('port', 0, 'Port the server listens on (0: pick a free one).', { min: 0 }),
    tuple('port_range', [], 'When port is 0: pick the free port from this inclusive range [low, high] (e.g. [50000, 50999] for a firewall rule) instead of anywhere.', {
      items: 'Int',
      validate: (v) => {
        const a = v as unknown[];
        if (!a.length) return [];
        if (a.length !== 2 || !a.every((n) => Number.isInteger(n)) || (a[0] as number) < 1 || (a[0] as number) > (a[1] as number) || (a[1] as number) > 65535)
          throw new Error(`must be two port numbers [low, high] with 1 <= low <= high <= 65535, got ${JSON.stringify(v)}`);
        return a;
      },
    }),
    unicode('hub_connect_url', '', 'URL of the hub as seen from the server (changes JUPYTERHUB_API_URL).', { allowNone: true, default: null }),
    unicode('default_url', '', 'Page opened in the server at first ({username} is replaced).'),
    unicode('notebook_dir', '', 'Root directory of the server ({username} is replaced; ~ is left for the server to expand).'),
    bool('disable_user_config', false, "Tell the server to ignore the user's own Jupyter configuration."),
    bool('debug', false, 'Start the server with debug logging.'),
    int('start_timeout', 60, 'Seconds allowed for the server process to be started.'),
    int('http_timeout', 30, 'Seconds allowed, after starting, for the server to answer HTTP.'),
    int('poll_interval', 30, 'Seconds between checks that the server is still alive (0 or less: never).'),
    float('poll_jitter', 0.1, 'Random variation of poll_interval, as a fraction of it.', { min: 0 }),
    int('consecutive_failure_limit', 0, 'Stop the hub after this many failed starts in a row (0: never).', { min: 0 }),
    bytespec('mem_limit', null, 'Memory limit hint for the server (bytes, or a number with K, M, G or T); exported as MEM_LIMIT.', { allowNone: true }),
    bytespec('mem_guarantee', null, 'Memory guarantee hint for the server; exported as MEM_GUARANTEE.', { allowNone: true }),
    float('cpu_limit', null, 'CPU limit hint (number of cores); exported as CPU_LIMIT.', { allowNone: true }),
    float('cpu_guarantee', null, 'CPU guarantee hint (number of cores); exported as CPU_GUARANTEE.', { allowNone: true }),
    union('options_form', ['Unicode', 'Callable'], null, 'HTML form fields shown before starting a server, or a function (spawner) returning them.', { allowNone: true }),
    callable('options_from_form', 'Function turning the submitted form data (lists of strings) into user_options.'),
    union('apply_user_options', ['Callable', 'Dict'], null, 'Function (spawner, user_options) applying user_options, or a dict mapping option names to trait names.', { allowNone: true }),
    callable('pre_spawn_hook', 'Function (spawner) called before a server is started.'),
    callable('post_stop_hook', 'Function (spawner) called after a server has stopped.'),
    callable('auth_state_hook', "Function (spawner, auth_state) called before start with the user's auth state."),
    callable('progress_ready_hook', 'Function (spawner, ready_event) that may change the final progress event.'),
    union('oauth_client_allowed_scopes', ['List', 'Callable'], [], "Extra scopes the server's OAuth client may grant, or a function (spawner) returning them."),
    union('oauth_roles', ['List', 'Callable'], [], 'Obsolete: role names for the OAuth client; use oauth_client_allowed_scopes.', deprecated('3.0', undefined, 'use Spawner.oauth_client_allowed_scopes')),
    union('server_token_scopes', ['List', 'Callable'], null, "Scopes of the server's API token, or a function (spawner) returning them. Unset: the 'server' role.", { allowNone: true }),
    union('group_overrides', ['Dict', 'Callable'], {}, 'Per-group overrides: {key: {"groups": [...], "spawner_override": {...}}}, applied in key order; or a function (spawner).'),
    union('ssl_alt_names', ['List', 'Callable'], [], 'subjectAltName entries for internal TLS server certificates (default: JupyterHub.trusted_alt_names).'),
    bool('ssl_alt_names_include_local', true, 'Add DNS:localhost and IP:127.0.0.1 to server certificates.'),
  ],
};

export const LocalProcessSpawner: ClassDef = {
  name: 'LocalProcessSpawner',
  parent: 'Spawner',
  help: 'Starts each server as a local process running as the system user of the same name.',
  aliases: ['default', 'localprocess', 'jupyterhub.spawner.LocalProcessSpawner'],
  traits: [
    list('env_keep', ['CONDA_DEFAULT_ENV', 'CONDA_ROOT', 'JUPYTERHUB_SINGLEUSER_APP', 'LANG', 'LC_ALL', 'LD_LIBRARY_PATH', 'PATH', 'PYTHONPATH', 'VIRTUAL_ENV'],
      'Names of hub environment variables passed on to the server.', { items: 'Unicode' }),
    int('interrupt_timeout', 10, 'Seconds to wait after SIGINT before sending SIGTERM.'),
    int('term_timeout', 5, 'Seconds to wait after SIGTERM before sending SIGKILL.'),
    int('kill_timeout', 5, 'Seconds to wait after SIGKILL before giving up.'),
    dict('popen_kwargs', {}, 'Extra options for creating the server process.'),
    list('shell_cmd', [], "Command wrapping the server command, e.g. ['bash', '-l', '-c'].", { items: 'Unicode' }),
  ],
};

export const SimpleLocalProcessSpawner: ClassDef = {
  name: 'SimpleLocalProcessSpawner',
  parent: 'LocalProcessSpawner',
  help: 'For tests and demos: runs servers as the hub user, each in its own directory.',
  aliases: ['simple', 'jupyterhub.spawner.SimpleLocalProcessSpawner'],
  traits: [unicode('home_dir_template', '/tmp/{username}', 'Directory created for each user and used as HOME and working directory.')],
};

export const SudoSpawner: ClassDef = {
  name: 'SudoSpawner',
  parent: 'LocalProcessSpawner',
  help: 'Starts servers through a sudo-launched mediator so that the hub need not run as root.',
  aliases: ['sudo', 'sudospawner', 'sudospawner.SudoSpawner', 'sudospawner.spawner.SudoSpawner'],
  traits: [
    unicode('sudospawner_path', 'sudospawner', 'Path of the mediator program run through sudo.'),
    list('sudo_args', ['-nH'], 'Arguments given to sudo.', { items: 'Unicode' }),
    bool('debug_mediator', false, 'Turn on debug logging in the mediator.'),
    unicode('mediator_log_level', 'INFO', 'Log level of the mediator.'),
  ],
};
