/* eslint-disable */
// Generated from the trait schema by src/config/typegen.ts: do not edit by hand.
// Regenerate: node -e "import('./dist/src/config/typegen.js').then(m => process.stdout.write(m.renderPublicTypes()))" > src/config/public.ts
//
// Use in a TypeScript config file:
//   import type { Config } from './path/to/jhub/src/config/public.js';
//   export default (c: Config) => { c.JupyterHub.port = 8000; };

/** A function value (hook) in a TypeScript/JavaScript config. */
export type Hook = (...args: any[]) => unknown;

/** Settings shared by every jhub command-line application (logging, config display). */
export interface ApplicationConfig {
  /** Minimum severity of log messages that are written (name or number). */
  log_level?: "0" | "10" | "20" | "30" | "40" | "50" | "DEBUG" | "INFO" | "WARN" | "ERROR" | "CRITICAL" | number;
  /** Layout of log lines, in Python logging format syntax. */
  log_format?: string;
  /** strftime-style layout of the time stamp in log lines. */
  log_datefmt?: string;
  /** Extra logging configuration merged into the logging setup (dictConfig layout). */
  logging_config?: Record<string, any>;
  /** Print the effective configuration instead of starting, then exit. */
  show_config?: boolean;
  /** Like show_config, but print the configuration as JSON. */
  show_config_json?: boolean;
}

/** The hub process: network layout, database, security, components and limits. */
export interface JupyterHubConfig extends ApplicationConfig {
  /** Public URL the proxy listens on; its scheme, host, port and path also set ip, port and base_url. */
  bind_url?: string;
  /** Public address the proxy listens on; empty means every interface. */
  ip?: string;
  /** Public TCP port of the proxy. */
  port?: number;
  /** Path prefix under which the whole hub is served; always begins and ends with a slash. */
  base_url?: string;
  /** Complete external URL of the hub (scheme, host and base_url). Setting it turns off guessing the host from requests. */
  public_url?: string;
  /** Domain under which each user gets a subdomain (e.g. https://hub.example.org); empty disables subdomains. */
  subdomain_host?: string;
  /** How a user's subdomain is derived: 'idna', 'legacy', or a function (name, domain, kind) returning the host. */
  subdomain_hook?: string | Hook;
  /** Address the hub itself listens on for traffic from the proxy, servers and services. */
  hub_ip?: string;
  /** TCP port the hub itself listens on. */
  hub_port?: number;
  /** Full URL the hub binds to (may be unix+http://<escaped socket path>); overrides hub_ip/hub_port. */
  hub_bind_url?: string;
  /** Host name or address that proxy, servers and services use to contact the hub, when it differs from hub_ip. */
  hub_connect_ip?: string;
  /** Complete URL that other components use to contact the hub; wins over hub_connect_ip. */
  hub_connect_url?: string;
  /** Obsolete; use hub_connect_url instead. @deprecated */
  hub_connect_port?: number;
  /** Proxy route that leads to the hub (e.g. '/hub/' or 'hub.domain/'). */
  hub_routespec?: string;
  /** Private key file for HTTPS on the public proxy port. */
  ssl_key?: string;
  /** Certificate file for HTTPS on the public proxy port. */
  ssl_cert?: string;
  /** Addresses of reverse proxies in front of the hub whose X-Forwarded-For entries are skipped. */
  trusted_downstream_ips?: string[];
  /** Request header to trust instead of Host when checking the origin of requests. */
  forwarded_host_header?: string;
  /** Where '/' sends users; a path or a function (handler) returning one. Unset: the user's server or home page. */
  default_url?: string | Hook | null;
  /** After login, go to the user server (starting it if needed) rather than to the home page. */
  redirect_to_server?: boolean;
  /** Function (path, request, user, base_url) returning the URL for /user-redirect/ requests, or None to use the default. */
  user_redirect_hook?: Hook | null;
  /** Extra web server settings: headers, cookie_options, xsrf_cookie_kwargs, slow_spawn_timeout, slow_stop_timeout, ... */
  tornado_settings?: Record<string, any>;
  /** Database URL in SQLAlchemy form (sqlite:///file, postgresql://..., mysql+driver://...). */
  db_url?: string;
  /** Additional keyword arguments for the database connection. */
  db_kwargs?: Record<string, any>;
  /** Drop and recreate all database tables at startup (destroys all state). */
  reset_db?: boolean;
  /** Migrate the database schema at startup (SQLite files are backed up first). */
  upgrade_db?: boolean;
  /** Log every SQL statement. */
  debug_db?: boolean;
  /** Key signing the login cookies: bytes, or a string of hex digits. Unset: $JPY_COOKIE_SECRET or cookie_secret_file. */
  cookie_secret?: Buffer | string | null;
  /** File holding the cookie secret as hex digits; created with mode 0600 if missing. */
  cookie_secret_file?: string;
  /** Number of days a login cookie stays valid. */
  cookie_max_age_days?: number;
  /** Name cookies with the '__Host-' prefix (path '/'). */
  cookie_host_prefix_enabled?: boolean;
  /** Lifetime in seconds of OAuth access tokens issued by the hub. */
  oauth_token_expires_in?: number;
  /** Upper bound in seconds for the lifetime of tokens requested through the API (0: no bound). */
  token_expires_in_max_seconds?: number;
  /** Tokens to preload, mapping token to user name (pending deprecation: prefer services or roles). */
  api_tokens?: Record<string, string>;
  /** Tokens to preload, mapping token to service name. */
  service_tokens?: Record<string, string>;
  /** Treat tokens from the configuration as random enough to skip slow hashing. */
  trust_user_provided_tokens?: boolean;
  /** File to write the hub process id to (empty: none). */
  pid_file?: string;
  /** Directory holding templates and static files. */
  data_files_path?: string;
  /** Use TLS with client certificates between hub, proxy and servers. */
  internal_ssl?: boolean;
  /** Directory where internal TLS certificates are kept. */
  internal_certs_location?: string;
  /** Regenerate the internal TLS certificates at startup. */
  recreate_internal_certs?: boolean;
  /** Certificate authorities supplied from outside, by role (hub-ca, notebooks-ca, proxy-api-ca, proxy-client-ca, services-ca). */
  external_ssl_authorities?: Record<string, any>;
  /** Additional subjectAltName entries for internal certificates. */
  trusted_alt_names?: string[];
  /** Create the internal TLS certificates and exit. */
  generate_certs?: boolean;
  /** Class that logs users in: an alias ('pam', 'dummy', 'generic-oauth', ...), a dotted name, or a class. */
  authenticator_class?: string | Function;
  /** Class that starts user servers: an alias ('localprocess', 'simple', ...), a dotted name, or a class. */
  spawner_class?: string | Function;
  /** Class that manages the proxy: 'configurable-http-proxy' (the default) or a dotted name. */
  proxy_class?: string | Function;
  /** Stop user servers when the hub shuts down. */
  cleanup_servers?: boolean;
  /** Stop the proxy when the hub shuts down, if the hub started it. */
  cleanup_proxy?: boolean;
  /** Roles to create or update at startup: dicts with name, description, scopes, users, groups, services. */
  load_roles?: (Record<string, any>)[];
  /** Extra scopes ('custom:...') usable in roles, mapping name to a dict with description and optional subscopes. */
  custom_scopes?: Record<string, any>;
  /** Groups to create at startup: name -> {"users": [...], "properties": {...}} (a plain list of users is accepted too). */
  load_groups?: Record<string, any>;
  /** Services known to the hub: dicts with name, and url/command/api_token/environment/user/cwd/oauth options... */
  services?: (Record<string, any>)[];
  /** Let users run several named servers besides their default one. */
  allow_named_servers?: boolean;
  /** Maximum named servers per user (0: no limit), or a function (handler) returning it. */
  named_server_limit_per_user?: number | Hook;
  /** Named server that /user-redirect/ uses when named servers are enabled. */
  default_server_name?: string;
  /** Obsolete location of the admin list. @deprecated */
  admin_users?: string[];
  /** Obsolete: admins reach user servers through scopes now. @deprecated */
  admin_access?: boolean;
  /** Stop the user's servers when the user logs out. */
  shutdown_on_logout?: boolean;
  /** Largest number of server starts in progress at once (0: unlimited); more get HTTP 429. */
  concurrent_spawn_limit?: number;
  /** Largest number of running servers (0: unlimited); more get HTTP 429. */
  active_server_limit?: number;
  /** Range (low, high) of the Retry-After seconds sent with HTTP 429 answers. */
  spawn_throttle_retry_range?: number[];
  /** Seconds to wait at startup for the state checks of existing servers before serving (-1: wait for all). */
  init_spawners_timeout?: number;
  /** Seconds after which the "not running" page starts the server on its own (0: never). */
  implicit_spawn_seconds?: number;
  /** Answer requests for stopped servers with 503 instead of 424. */
  use_legacy_stopped_server_status_code?: boolean;
  /** Seconds between activity collections from the proxy (and route checks). */
  last_activity_interval?: number;
  /** Smallest interval in seconds between two stored activity updates. */
  activity_resolution?: number;
  /** Window in seconds within which a user counts as active for statistics. */
  active_user_window?: number;
  /** Seconds between health checks of services. */
  service_check_interval?: number;
  /** Page size used when a paginated API request gives no limit. */
  api_page_default_limit?: number;
  /** Largest page size for API requests (also what non-paginating clients get). */
  api_page_max_limit?: number;
  /** Require the read:metrics scope for /hub/metrics. */
  authenticate_prometheus?: boolean;
  /** Host of a statsd server to send metrics to (empty: disabled). */
  statsd_host?: string;
  /** Port of the statsd server. */
  statsd_port?: number;
  /** Prefix of statsd metric names. */
  statsd_prefix?: string;
  /** Directories searched for page templates before the built-in ones. */
  template_paths?: string[];
  /** Extra variables for page templates; a value may be a function (user) returning it. */
  template_vars?: Record<string, any>;
  /** Options for the template engine. */
  jinja_environment_options?: Record<string, any>;
  /** jhub extension: extra directories searched for files under /hub/static/ before the built-in ones. */
  extra_static_paths?: string[];
  /** Image served as /hub/logo instead of the built-in logo. */
  logo_file?: string;
  /** Minimum severity of log messages that are written (name or number). */
  log_level?: "0" | "10" | "20" | "30" | "40" | "50" | "DEBUG" | "INFO" | "WARN" | "ERROR" | "CRITICAL" | number;
  /** Layout of log lines, in Python logging format syntax. */
  log_format?: string;
  /** jhub extension: write each log event as one JSON object per line (for log collectors) instead of text lines. Also set by --log-json or JHUB_LOG_FORMAT=json. */
  log_json?: boolean;
  /** Additional log handlers (not supported by jhub; accepted for compatibility). */
  extra_log_handlers?: any[];
  /** Obsolete: redirect output with the shell or a service manager instead. @deprecated */
  extra_log_file?: string;
  /** Obsolete: additional URL handlers of the Python hub; use services instead. @deprecated */
  extra_handlers?: any[];
  /** Answer yes to every question (e.g. overwriting the generated config file). */
  answer_yes?: boolean;
  /** Write a commented default config file and exit. */
  generate_config?: boolean;
  /** The configuration file to load. */
  config_file?: string;
  /** Obsolete location of the proxy command. @deprecated */
  proxy_cmd?: string | string[];
  /** Obsolete: use ConfigurableHTTPProxy.api_url (still used to build its default). @deprecated */
  proxy_api_ip?: string;
  /** Obsolete: use ConfigurableHTTPProxy.api_url (still used to build its default). @deprecated */
  proxy_api_port?: number;
  /** Obsolete location of the proxy API token. @deprecated */
  proxy_auth_token?: string;
  /** Obsolete location of the proxy liveness check period. @deprecated */
  proxy_check_interval?: number;
  /** Obsolete location of the proxy debug switch. @deprecated */
  debug_proxy?: boolean;
  /** Obsolete; has no effect. @deprecated */
  confirm_no_ssl?: boolean;
  /** Not a setting: ignored (accepted so that configs that set it load). */
  jupyterhub_version?: any | null;
}

/** Settings common to every spawner (the component that starts single-user servers). */
export interface SpawnerConfig {
  /** Command that starts the single-user server. */
  cmd?: string | string[];
  /** Extra arguments appended to cmd. */
  args?: string[];
  /** Extra environment variables for the server, applied last; a value may be a function (spawner) returning the string. */
  environment?: Record<string, any>;
  /** Names of hub environment variables passed on to the server. */
  env_keep?: string[];
  /** Address the server listens on ('' means every interface). */
  ip?: string;
  /** Port the server listens on (0: pick a free one). */
  port?: number;
  /** When port is 0: pick the free port from this inclusive range [low, high] (e.g. [50000, 50999] for a firewall rule) instead of anywhere. */
  port_range?: number[];
  /** URL of the hub as seen from the server (changes JUPYTERHUB_API_URL). */
  hub_connect_url?: string | null;
  /** Page opened in the server at first ({username} is replaced). */
  default_url?: string;
  /** Root directory of the server ({username} is replaced; ~ is left for the server to expand). */
  notebook_dir?: string;
  /** Tell the server to ignore the user's own Jupyter configuration. */
  disable_user_config?: boolean;
  /** Start the server with debug logging. */
  debug?: boolean;
  /** Seconds allowed for the server process to be started. */
  start_timeout?: number;
  /** Seconds allowed, after starting, for the server to answer HTTP. */
  http_timeout?: number;
  /** Seconds between checks that the server is still alive (0 or less: never). */
  poll_interval?: number;
  /** Random variation of poll_interval, as a fraction of it. */
  poll_jitter?: number;
  /** Stop the hub after this many failed starts in a row (0: never). */
  consecutive_failure_limit?: number;
  /** Memory limit hint for the server (bytes, or a number with K, M, G or T); exported as MEM_LIMIT. */
  mem_limit?: number | string | null;
  /** Memory guarantee hint for the server; exported as MEM_GUARANTEE. */
  mem_guarantee?: number | string | null;
  /** CPU limit hint (number of cores); exported as CPU_LIMIT. */
  cpu_limit?: number | null;
  /** CPU guarantee hint (number of cores); exported as CPU_GUARANTEE. */
  cpu_guarantee?: number | null;
  /** HTML form fields shown before starting a server, or a function (spawner) returning them. */
  options_form?: string | Hook | null;
  /** Function turning the submitted form data (lists of strings) into user_options. */
  options_from_form?: Hook | null;
  /** Function (spawner, user_options) applying user_options, or a dict mapping option names to trait names. */
  apply_user_options?: Hook | Record<string, any> | null;
  /** Function (spawner) called before a server is started. */
  pre_spawn_hook?: Hook | null;
  /** Function (spawner) called after a server has stopped. */
  post_stop_hook?: Hook | null;
  /** Function (spawner, auth_state) called before start with the user's auth state. */
  auth_state_hook?: Hook | null;
  /** Function (spawner, ready_event) that may change the final progress event. */
  progress_ready_hook?: Hook | null;
  /** Extra scopes the server's OAuth client may grant, or a function (spawner) returning them. */
  oauth_client_allowed_scopes?: any[] | Hook;
  /** Obsolete: role names for the OAuth client; use oauth_client_allowed_scopes. @deprecated */
  oauth_roles?: any[] | Hook;
  /** Scopes of the server's API token, or a function (spawner) returning them. Unset: the 'server' role. */
  server_token_scopes?: any[] | Hook | null;
  /** Per-group overrides: {key: {"groups": [...], "spawner_override": {...}}}, applied in key order; or a function (spawner). */
  group_overrides?: Record<string, any> | Hook;
  /** subjectAltName entries for internal TLS server certificates (default: JupyterHub.trusted_alt_names). */
  ssl_alt_names?: any[] | Hook;
  /** Add DNS:localhost and IP:127.0.0.1 to server certificates. */
  ssl_alt_names_include_local?: boolean;
}

/** Starts each server as a local process running as the system user of the same name. */
export interface LocalProcessSpawnerConfig extends SpawnerConfig {
  /** Names of hub environment variables passed on to the server. */
  env_keep?: string[];
  /** Seconds to wait after SIGINT before sending SIGTERM. */
  interrupt_timeout?: number;
  /** Seconds to wait after SIGTERM before sending SIGKILL. */
  term_timeout?: number;
  /** Seconds to wait after SIGKILL before giving up. */
  kill_timeout?: number;
  /** Extra options for creating the server process. */
  popen_kwargs?: Record<string, any>;
  /** Command wrapping the server command, e.g. ['bash', '-l', '-c']. */
  shell_cmd?: string[];
}

/** For tests and demos: runs servers as the hub user, each in its own directory. */
export interface SimpleLocalProcessSpawnerConfig extends LocalProcessSpawnerConfig {
  /** Directory created for each user and used as HOME and working directory. */
  home_dir_template?: string;
}

/** Starts servers through a sudo-launched mediator so that the hub need not run as root. */
export interface SudoSpawnerConfig extends LocalProcessSpawnerConfig {
  /** Path of the mediator program run through sudo. */
  sudospawner_path?: string;
  /** Arguments given to sudo. */
  sudo_args?: string[];
  /** Turn on debug logging in the mediator. */
  debug_mediator?: boolean;
  /** Log level of the mediator. */
  mediator_log_level?: string;
}

/** Settings common to every authenticator (the component that decides who may log in). */
export interface AuthenticatorConfig {
  /** Users who get admin rights (created at startup). Being listed here does not by itself allow login. */
  admin_users?: string[];
  /** Users allowed to log in (created at startup). */
  allowed_users?: string[];
  /** Let in everybody who authenticates successfully. */
  allow_all?: boolean;
  /** Let in users that already exist in the database. */
  allow_existing_users?: boolean;
  /** Users who may never log in. */
  blocked_users?: string[];
  /** Declare that some allow rule exists (silences the "nobody can log in" warning). */
  any_allow_config?: boolean;
  /** Regular expression every (normalized) user name must match; empty: no check. */
  username_pattern?: string;
  /** Renames authenticated users (applied after lower-casing) and also the entries of allowed_users and admin_users. */
  username_map?: Record<string, string>;
  /** jhub extension: function (name) returning the normalized user name, replacing lower-casing + username_map (the way to express a Python override of normalize_username). */
  normalize_username?: Hook | null;
  /** Remove users from the database at startup when they no longer pass validation. */
  delete_invalid_users?: boolean;
  /** Skip the login page and go straight to the authenticator's login URL. */
  auto_login?: boolean;
  /** Like auto_login, for OAuth authorization requests. */
  auto_login_oauth2_authorize?: boolean;
  /** Store each user's auth_state encrypted in the database (needs JUPYTERHUB_CRYPT_KEY). */
  enable_auth_state?: boolean;
  /** Seconds after which the user's authentication info is refreshed again. */
  auth_refresh_age?: number;
  /** Refresh the user's authentication info before starting a server. */
  refresh_pre_spawn?: boolean;
  /** Refresh the user's authentication info before stopping a server. */
  refresh_pre_stop?: boolean;
  /** Function (authenticator, handler, authentication) returning the possibly changed authentication model. */
  post_auth_hook?: Hook | null;
  /** Take users' group memberships from the authenticator. */
  manage_groups?: boolean;
  /** Take users' roles from the authenticator. */
  manage_roles?: boolean;
  /** At startup, remove managed roles and managed role assignments that load_managed_roles() no longer gives. */
  reset_managed_roles_on_startup?: boolean;
  /** jhub extension: function (handler, data) returning the user name, an auth model ({name, admin?, groups?, roles?, auth_state?}) or null, called with the authenticator as `this`, replacing the class's own check (the way to express a Python override of authenticate). */
  authenticate?: Hook | null;
  /** jhub extension: function () returning the role definitions (load_roles format) the authenticator manages, loaded at every startup when manage_roles is set (the way to express a Python override of load_managed_roles). */
  load_managed_roles?: Hook | null;
  /** Add a one-time-password field to the login form. */
  request_otp?: boolean;
  /** Label of the one-time-password field. */
  otp_prompt?: any;
  /** Old name of allowed_users. @deprecated */
  whitelist?: string[];
  /** Old name of blocked_users. @deprecated */
  blacklist?: string[];
}

/** Authenticator tied to system accounts: can create them and allow system groups. */
export interface LocalAuthenticatorConfig extends AuthenticatorConfig {
  /** Create a system account (with add_user_cmd) for users that do not have one. */
  create_system_users?: boolean;
  /** Command creating a system account; 'USERNAME' inside an argument is replaced, then the name (after --uid N when uids has it) is appended. */
  add_user_cmd?: string | string[];
  /** Members of these system groups may log in. */
  allowed_groups?: string[];
  /** Fixed uids for created accounts (name -> uid). */
  uids?: Record<string, number>;
  /** Old name of allowed_groups. @deprecated */
  group_whitelist?: string[];
}

/** Checks user name and password with PAM (the default authenticator). */
export interface PAMAuthenticatorConfig extends LocalAuthenticatorConfig {
  /** PAM service name used for authentication. */
  service?: string;
  /** Text encoding used to talk to PAM. */
  encoding?: string;
  /** Open a PAM session when a server starts and close it when it stops. */
  open_sessions?: boolean;
  /** Also run the PAM account check (expired or locked accounts fail). */
  check_account?: boolean;
  /** Members of these system groups are admins (this does not allow login by itself). */
  admin_groups?: string[];
  /** Normalize names by a round trip through the system user database. */
  pam_normalize_username?: boolean;
  /** Threads for blocking PAM calls. */
  executor_threads?: number;
}

/** For testing: any user name is accepted, optionally with one shared password. */
export interface DummyAuthenticatorConfig extends AuthenticatorConfig {
  /** If set, the password every user must give. @deprecated */
  password?: string;
  /** Let in everybody who authenticates successfully (default: True unless allowed_users is set). */
  allow_all?: boolean;
}

/** Everybody logs in with one shared password; admins with a separate one. */
export interface SharedPasswordAuthenticatorConfig extends AuthenticatorConfig {
  /** Password for non-admin users (at least 8 characters). */
  user_password?: string | null;
  /** Password for users in admin_users (at least 32 characters, different from user_password). */
  admin_password?: string | null;
  /** Extra passwords, each mapping to a list of groups its users join (needs manage_groups). */
  password_groups?: Record<string, any>;
}

/** No login at all: for deployments used only with API tokens. */
export interface NullAuthenticatorConfig extends AuthenticatorConfig {
}

/** Log in through an OAuth 2 / OpenID Connect provider (settings shared by all providers). */
export interface OAuthenticatorConfig extends AuthenticatorConfig {
  /** Client id registered at the provider. */
  client_id?: string;
  /** Client secret registered at the provider. */
  client_secret?: string;
  /** Redirect URI registered at the provider; empty: derived from the request (<proto>://<host>{hub}oauth_callback). */
  oauth_callback_url?: string;
  /** Provider's authorization endpoint. */
  authorize_url?: string;
  /** Provider's token endpoint. */
  token_url?: string;
  /** Provider's user-info endpoint. */
  userdata_url?: string;
  /** Read the user information from the id_token instead of calling userdata_url. */
  userdata_from_id_token?: boolean;
  /** Field of the user information holding the user name, or a function (userdata) returning it. */
  username_claim?: string | Hook;
  /** Scopes requested from the provider. */
  scope?: string[];
  /** Let in users who were granted all of these scopes. */
  allowed_scopes?: string[];
  /** Provider name shown on the login button. */
  login_service?: string;
  /** Let in users that already exist in the database. */
  allow_existing_users?: boolean;
  /** Let in members of these provider groups (needs manage_groups). */
  allowed_groups?: string[];
  /** Members of these provider groups are admins and may log in (needs manage_groups). */
  admin_groups?: string[];
  /** Where the user's groups are found in auth_state (dotted path such as 'oauth_user.groups'), or a function (auth_state). */
  auth_state_groups_key?: string | Hook | null;
  /** Refresh the user's tokens before starting a server. */
  refresh_pre_spawn?: boolean;
  /** Send client id and secret with HTTP Basic authentication to token_url rather than in the body. */
  basic_auth?: boolean;
  /** Use PKCE (S256) in the authorization flow. */
  enable_pkce?: boolean;
  /** Extra parameters for the token request. */
  token_params?: Record<string, any>;
  /** Extra query parameters for the authorization request. */
  extra_authorize_params?: Record<string, any>;
  /** Extra query parameters for the user-info request. */
  userdata_params?: Record<string, any>;
  /** How the access token is sent to userdata_url: 'header' or 'url'. */
  userdata_token_method?: string;
  /** Check the provider's TLS certificates. */
  validate_server_cert?: boolean;
  /** Extra options for HTTP requests to the provider. */
  http_request_kwargs?: Record<string, any>;
  /** Where to send users after logging out of the hub. */
  logout_redirect_url?: string;
  /** Text of the page shown to authenticated users who are not allowed in. */
  custom_403_message?: string;
  /** Function (authenticator, auth_state) returning a changed auth_state. */
  modify_auth_state_hook?: Hook | null;
  /** Function (authenticator, user, auth_state) deciding whether and how to refresh. */
  refresh_user_hook?: Hook | null;
  /** Old name of token_params. @deprecated */
  extra_params?: Record<string, any>;
  /** Old name of validate_server_cert. @deprecated */
  tls_verify?: boolean;
}

/** OAuthenticator for any standard OAuth 2 / OpenID Connect provider. */
export interface GenericOAuthenticatorConfig extends OAuthenticatorConfig {
  /** Provider name shown on the login button. */
  login_service?: string;
  /** Old name of username_claim. @deprecated */
  username_key?: string | Hook;
  /** Old way to name the groups field: same as auth_state_groups_key = 'oauth_user.<key>' (needs manage_groups). @deprecated */
  claim_groups_key?: string | Hook;
  /** Old setting for the user-info request method. @deprecated */
  userdata_method?: string;
}

/** GenericOAuthenticator that also maps users to (and can create) system accounts. */
export interface LocalGenericOAuthenticatorConfig extends GenericOAuthenticatorConfig {
  /** Create a system account (with add_user_cmd) for users that do not have one. */
  create_system_users?: boolean;
  /** Command creating a system account; 'USERNAME' inside an argument is replaced, then the name is appended. */
  add_user_cmd?: string | string[];
  /** Fixed uids for created accounts (name -> uid). */
  uids?: Record<string, number>;
}

/** Settings common to every proxy implementation. */
export interface ProxyConfig {
  /** Let the hub start and stop the proxy; False means the proxy is managed separately. */
  should_start?: boolean;
  /** Additional proxy routes kept in place by the hub: routespec -> target URL. */
  extra_routes?: Record<string, string>;
}

/** The configurable-http-proxy (CHP) process and how the hub talks to its API. */
export interface ConfigurableHTTPProxyConfig extends ProxyConfig {
  /** Executable (and leading arguments) that starts the proxy. The default is jhub's own proxy; ['configurable-http-proxy'] runs the Node original if it is installed. */
  command?: string | string[];
  /** URL of the proxy's REST API. */
  api_url?: string;
  /** Token for the proxy API; when empty and the hub starts the proxy, a random one is made at each start. */
  auth_token?: string;
  /** File holding the process id of the proxy started by the hub. */
  pid_file?: string;
  /** Seconds between checks that the proxy process is alive. */
  check_running_interval?: number;
  /** Largest number of API requests to the proxy at once. */
  concurrency?: number;
  /** Log level passed to the proxy. */
  log_level?: "debug" | "info" | "warn" | "error";
  /** Run the proxy with debug logging. */
  debug?: boolean;
}

/** Encryption of auth_state in the database. */
export interface CryptKeeperConfig {
  /** Encryption keys (32 bytes each: hex, URL-safe base64 or raw); the first encrypts, all decrypt. */
  keys?: any[];
  /** Worker threads for encryption. */
  n_threads?: number;
}

/** OAuthenticator for github (known to jhub so that configs load, not available yet). (Not available in jhub: GitHubOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface GitHubOAuthenticatorConfig extends OAuthenticatorConfig {
  /** Let in members of these GitHub organizations (or org:team). */
  allowed_organizations?: string[];
  /** Base URL of the GitHub instance. */
  github_url?: string;
  /** Put the user's teams in auth_state. */
  populate_teams_in_auth_state?: boolean;
}

/** GitHubOAuthenticator mapped to system accounts (not available yet). (Not available in jhub: GitHubOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface LocalGitHubOAuthenticatorConfig extends GitHubOAuthenticatorConfig {
  /** Create a system account (with add_user_cmd) for users that do not have one. */
  create_system_users?: boolean;
  /** Command creating a system account; 'USERNAME' inside an argument is replaced, then the name is appended. */
  add_user_cmd?: string | string[];
  /** Fixed uids for created accounts (name -> uid). */
  uids?: Record<string, number>;
}

/** OAuthenticator for gitlab (known to jhub so that configs load, not available yet). (Not available in jhub: GitLabOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface GitLabOAuthenticatorConfig extends OAuthenticatorConfig {
  /** Base URL of the GitLab instance. */
  gitlab_url?: string;
  /** Let in members of these GitLab groups. */
  allowed_gitlab_groups?: string[];
  /** Let in members of these GitLab projects. */
  allowed_project_ids?: any[];
}

/** GitLabOAuthenticator mapped to system accounts (not available yet). (Not available in jhub: GitLabOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface LocalGitLabOAuthenticatorConfig extends GitLabOAuthenticatorConfig {
  /** Create a system account (with add_user_cmd) for users that do not have one. */
  create_system_users?: boolean;
  /** Command creating a system account; 'USERNAME' inside an argument is replaced, then the name is appended. */
  add_user_cmd?: string | string[];
  /** Fixed uids for created accounts (name -> uid). */
  uids?: Record<string, number>;
}

/** OAuthenticator for google (known to jhub so that configs load, not available yet). (Not available in jhub: GoogleOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface GoogleOAuthenticatorConfig extends OAuthenticatorConfig {
  /** Only accept accounts of these Google Workspace domains. */
  hosted_domain?: string[];
  /** Let in members of these Google groups, per domain. */
  allowed_google_groups?: Record<string, any>;
  /** Members of these Google groups are admins, per domain. */
  admin_google_groups?: Record<string, any>;
  /** Service account keys used to read groups. */
  google_service_account_keys?: string;
}

/** GoogleOAuthenticator mapped to system accounts (not available yet). (Not available in jhub: GoogleOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface LocalGoogleOAuthenticatorConfig extends GoogleOAuthenticatorConfig {
  /** Create a system account (with add_user_cmd) for users that do not have one. */
  create_system_users?: boolean;
  /** Command creating a system account; 'USERNAME' inside an argument is replaced, then the name is appended. */
  add_user_cmd?: string | string[];
  /** Fixed uids for created accounts (name -> uid). */
  uids?: Record<string, number>;
}

/** OAuthenticator for azuread (known to jhub so that configs load, not available yet). (Not available in jhub: AzureAdOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface AzureAdOAuthenticatorConfig extends OAuthenticatorConfig {
  /** Azure AD tenant id. */
  tenant_id?: string;
}

/** AzureAdOAuthenticator mapped to system accounts (not available yet). (Not available in jhub: AzureAdOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface LocalAzureAdOAuthenticatorConfig extends AzureAdOAuthenticatorConfig {
  /** Create a system account (with add_user_cmd) for users that do not have one. */
  create_system_users?: boolean;
  /** Command creating a system account; 'USERNAME' inside an argument is replaced, then the name is appended. */
  add_user_cmd?: string | string[];
  /** Fixed uids for created accounts (name -> uid). */
  uids?: Record<string, number>;
}

/** OAuthenticator for auth0 (known to jhub so that configs load, not available yet). (Not available in jhub: Auth0OAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface Auth0OAuthenticatorConfig extends OAuthenticatorConfig {
  /** Auth0 domain (e.g. example.us.auth0.com). */
  auth0_domain?: string;
  /** Old way to give the Auth0 domain. */
  auth0_subdomain?: string;
}

/** Auth0OAuthenticator mapped to system accounts (not available yet). (Not available in jhub: Auth0OAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface LocalAuth0OAuthenticatorConfig extends Auth0OAuthenticatorConfig {
  /** Create a system account (with add_user_cmd) for users that do not have one. */
  create_system_users?: boolean;
  /** Command creating a system account; 'USERNAME' inside an argument is replaced, then the name is appended. */
  add_user_cmd?: string | string[];
  /** Fixed uids for created accounts (name -> uid). */
  uids?: Record<string, number>;
}

/** OAuthenticator for bitbucket (known to jhub so that configs load, not available yet). (Not available in jhub: BitbucketOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface BitbucketOAuthenticatorConfig extends OAuthenticatorConfig {
  /** Let in members of these Bitbucket workspaces. */
  allowed_teams?: string[];
}

/** BitbucketOAuthenticator mapped to system accounts (not available yet). (Not available in jhub: BitbucketOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface LocalBitbucketOAuthenticatorConfig extends BitbucketOAuthenticatorConfig {
  /** Create a system account (with add_user_cmd) for users that do not have one. */
  create_system_users?: boolean;
  /** Command creating a system account; 'USERNAME' inside an argument is replaced, then the name is appended. */
  add_user_cmd?: string | string[];
  /** Fixed uids for created accounts (name -> uid). */
  uids?: Record<string, number>;
}

/** OAuthenticator for cilogon (known to jhub so that configs load, not available yet). (Not available in jhub: CILogonOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface CILogonOAuthenticatorConfig extends OAuthenticatorConfig {
  /** Identity providers accepted, with per-provider username settings. */
  allowed_idps?: Record<string, any>;
  /** CILogon host. */
  cilogon_host?: string;
}

/** CILogonOAuthenticator mapped to system accounts (not available yet). (Not available in jhub: CILogonOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface LocalCILogonOAuthenticatorConfig extends CILogonOAuthenticatorConfig {
  /** Create a system account (with add_user_cmd) for users that do not have one. */
  create_system_users?: boolean;
  /** Command creating a system account; 'USERNAME' inside an argument is replaced, then the name is appended. */
  add_user_cmd?: string | string[];
  /** Fixed uids for created accounts (name -> uid). */
  uids?: Record<string, number>;
}

/** OAuthenticator for globus (known to jhub so that configs load, not available yet). (Not available in jhub: GlobusOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface GlobusOAuthenticatorConfig extends OAuthenticatorConfig {
  /** Let in members of these Globus groups. */
  allowed_globus_groups?: string[];
  /** Accepted Globus identity providers. */
  identity_provider?: any[];
}

/** GlobusOAuthenticator mapped to system accounts (not available yet). (Not available in jhub: GlobusOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface LocalGlobusOAuthenticatorConfig extends GlobusOAuthenticatorConfig {
  /** Create a system account (with add_user_cmd) for users that do not have one. */
  create_system_users?: boolean;
  /** Command creating a system account; 'USERNAME' inside an argument is replaced, then the name is appended. */
  add_user_cmd?: string | string[];
  /** Fixed uids for created accounts (name -> uid). */
  uids?: Record<string, number>;
}

/** OAuthenticator for mediawiki (known to jhub so that configs load, not available yet). (Not available in jhub: MWOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface MWOAuthenticatorConfig extends OAuthenticatorConfig {
  /** MediaWiki index.php URL. */
  index_url?: string;
}

/** OAuthenticator for openshift (known to jhub so that configs load, not available yet). (Not available in jhub: OpenShiftOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface OpenShiftOAuthenticatorConfig extends OAuthenticatorConfig {
  /** Base URL of the OpenShift cluster. */
  openshift_url?: string;
  /** OpenShift OAuth API URL. */
  openshift_auth_api_url?: string;
  /** OpenShift REST API URL. */
  openshift_rest_api_url?: string;
}

/** OpenShiftOAuthenticator mapped to system accounts (not available yet). (Not available in jhub: OpenShiftOAuthenticator is not available yet in jhub; use GenericOAuthenticator ('generic-oauth') with the provider's endpoints.) */
export interface LocalOpenShiftOAuthenticatorConfig extends OpenShiftOAuthenticatorConfig {
  /** Create a system account (with add_user_cmd) for users that do not have one. */
  create_system_users?: boolean;
  /** Command creating a system account; 'USERNAME' inside an argument is replaced, then the name is appended. */
  add_user_cmd?: string | string[];
  /** Fixed uids for created accounts (name -> uid). */
  uids?: Record<string, number>;
}

/** Runs each server as a transient systemd unit (package systemdspawner). (Not available in jhub: SystemdSpawner (systemd transient units) is not available yet in jhub; use LocalProcessSpawner.) */
export interface SystemdSpawnerConfig extends SpawnerConfig {
  /** Let systemd allocate a throw-away user per server (DynamicUser=yes). */
  dynamic_users?: boolean;
  /** SHELL given to the server. */
  default_shell?: string;
  /** Name of the systemd unit ({USERNAME}, {USERID} are replaced). */
  unit_name_template?: string;
  /** Give each server a private /tmp. */
  isolate_tmp?: boolean;
  /** Give each server a minimal private /dev. */
  isolate_devices?: boolean;
  /** Prevent privilege escalation from the server (NoNewPrivileges). */
  disable_user_sudo?: boolean;
  /** Paths mounted read-only for the server. */
  readonly_paths?: string[] | null;
  /** Paths mounted writable for the server (with readonly_paths). */
  readwrite_paths?: string[] | null;
  /** Memory limit of the unit. */
  mem_limit?: number | string | null;
  /** CPU limit of the unit (cores). */
  cpu_limit?: number | null;
  /** Working directory of the server ({USERNAME} is replaced). */
  user_workingdir?: string | null;
  /** Extra systemd unit properties. */
  unit_extra_properties?: Record<string, any>;
  /** Directories prepended to PATH. */
  extra_paths?: string[];
  /** System user the server runs as. */
  username_template?: string;
  /** systemd slice the unit runs in. */
  slice?: string | null;
}

/** Runs each server in a Docker container (package dockerspawner). (Not available in jhub: DockerSpawner is not available yet in jhub; use LocalProcessSpawner.) */
export interface DockerSpawnerConfig extends SpawnerConfig {
  /** Container image of the servers. */
  image?: string;
  /** Images users may choose from. */
  allowed_images?: any[];
  /** Docker network the containers join. */
  network_name?: string;
  /** Delete containers when they stop. */
  remove?: boolean;
  /** Volumes to mount: host path or volume name -> container path (or dict). */
  volumes?: any;
  /** Volumes mounted read-only. */
  read_only_volumes?: any;
  /** Extra options for creating the container. */
  extra_create_kwargs?: Record<string, any>;
  /** Extra host configuration of the container. */
  extra_host_config?: Record<string, any>;
  /** Reach the container by its address on the Docker network. */
  use_internal_ip?: boolean;
  /** Root directory inside the container. */
  notebook_dir?: string;
  /** When to pull the image: 'ifnotpresent', 'always', 'never', 'skip'. */
  pull_policy?: string;
  /** Container name pattern. */
  name_template?: string;
  /** Prefix of container names. */
  prefix?: string;
  /** Host address that container ports are published on. */
  host_ip?: string;
  /** Debug logging of the spawner. */
  debug?: boolean;
  /** Old setting for the container address. */
  container_ip?: string;
  /** Read Docker client settings from the environment. */
  use_docker_client_env?: boolean;
}

/** Runs each server as a Docker Swarm service (package dockerspawner). (Not available in jhub: SwarmSpawner is not available yet in jhub; use LocalProcessSpawner.) */
export interface SwarmSpawnerConfig extends DockerSpawnerConfig {
  /** Placement constraints of the service. */
  extra_placement_spec?: any[];
  /** Resource settings of the service. */
  extra_resources_spec?: Record<string, any>;
  /** Extra container settings of the service. */
  extra_container_spec?: Record<string, any>;
  /** Extra task settings of the service. */
  extra_task_spec?: Record<string, any>;
}

/** Runs each server in a Kubernetes pod (package kubespawner). (Not available in jhub: KubeSpawner (Kubernetes pods) is not available yet in jhub; use LocalProcessSpawner.) */
export interface KubeSpawnerConfig extends SpawnerConfig {
  /** Container image of the pods. */
  image?: string;
  /** Image pull policy. */
  image_pull_policy?: string;
  /** Namespace the pods are created in. */
  namespace?: string;
  /** Service account of the pods. */
  service_account?: string | null;
  /** Size of each user volume claim. */
  storage_capacity?: string | null;
  /** Storage class of user volume claims. */
  storage_class?: string | null;
  /** Name pattern of volume claims. */
  pvc_name_template?: string;
  /** Volumes of the pods. */
  volumes?: any[];
  /** Volume mounts of the server container. */
  volume_mounts?: any[];
  /** Extra pod labels. */
  extra_labels?: Record<string, any>;
  /** Node selector of the pods. */
  node_selector?: Record<string, any>;
  /** Profiles users can choose from (list or function). */
  profile_list?: any;
  /** User id the server runs as. */
  uid?: any | null;
  /** Group id owning the volumes. */
  fs_gid?: any | null;
  /** Seconds allowed for the pod to start. */
  start_timeout?: number;
}

/** Runs each server as a job of a batch system (package batchspawner). (Not available in jhub: batch system spawners (batchspawner) are not available yet in jhub; use LocalProcessSpawner.) */
export interface BatchSpawnerBaseConfig extends SpawnerConfig {
  /** Template of the job script submitted to the batch system. */
  batch_script?: string;
  /** Command submitting a job. */
  batch_submit_cmd?: string;
  /** Command querying a job. */
  batch_query_cmd?: string;
  /** Command cancelling a job. */
  batch_cancel_cmd?: string;
  /** Prefix of batch commands (to run them as the user). */
  exec_prefix?: string;
  /** Partition to submit to. */
  req_partition?: string;
  /** Queue to submit to. */
  req_queue?: string;
  /** Requested wall time. */
  req_runtime?: string;
  /** Requested memory. */
  req_memory?: string;
  /** Requested number of processors. */
  req_nprocs?: string;
  /** Requested number of GPUs. */
  req_ngpus?: string;
  /** Requested host. */
  req_host?: string;
  /** Account to charge. */
  req_account?: string;
  /** Other options for the job. */
  req_options?: string;
  /** Script lines run before the server. */
  req_prologue?: string;
  /** Script lines run after the server. */
  req_epilogue?: string;
  /** Launcher prefix of the server command. */
  req_srun?: string;
  /** Seconds between job state checks while starting. */
  startup_poll_interval?: number;
}

/** Runs each server as a Slurm job (package batchspawner). (Not available in jhub: SlurmSpawner (Slurm batch jobs) is not available yet in jhub; use LocalProcessSpawner.) */
export interface SlurmSpawnerConfig extends BatchSpawnerBaseConfig {
}

/** Runs each server as a Torque job (package batchspawner). (Not available in jhub: TorqueSpawner (Torque batch jobs) is not available yet in jhub; use LocalProcessSpawner.) */
export interface TorqueSpawnerConfig extends BatchSpawnerBaseConfig {
}

/** Runs each server as a Moab job (package batchspawner). (Not available in jhub: MoabSpawner (Moab batch jobs) is not available yet in jhub; use LocalProcessSpawner.) */
export interface MoabSpawnerConfig extends BatchSpawnerBaseConfig {
}

/** Runs each server as a PBS job (package batchspawner). (Not available in jhub: PBSSpawner (PBS batch jobs) is not available yet in jhub; use LocalProcessSpawner.) */
export interface PBSSpawnerConfig extends BatchSpawnerBaseConfig {
}

/** Runs each server as a Grid Engine job (package batchspawner). (Not available in jhub: GridengineSpawner (Grid Engine batch jobs) is not available yet in jhub; use LocalProcessSpawner.) */
export interface GridengineSpawnerConfig extends BatchSpawnerBaseConfig {
}

/** Runs each server as a HTCondor job (package batchspawner). (Not available in jhub: CondorSpawner (HTCondor batch jobs) is not available yet in jhub; use LocalProcessSpawner.) */
export interface CondorSpawnerConfig extends BatchSpawnerBaseConfig {
}

/** Runs each server as a LSF job (package batchspawner). (Not available in jhub: LsfSpawner (LSF batch jobs) is not available yet in jhub; use LocalProcessSpawner.) */
export interface LsfSpawnerConfig extends BatchSpawnerBaseConfig {
}

/** Delegates to another spawner chosen at start time (package wrapspawner). (Not available in jhub: WrapSpawner is not available yet in jhub.) */
export interface WrapSpawnerConfig extends SpawnerConfig {
  /** Spawner class to wrap. */
  child_class?: any | null;
  /** Settings for the wrapped spawner. */
  child_config?: Record<string, any>;
}

/** Lets users pick a spawner profile from a list (package wrapspawner). (Not available in jhub: ProfilesSpawner is not available yet in jhub.) */
export interface ProfilesSpawnerConfig extends WrapSpawnerConfig {
  /** List of (display name, key, spawner class, settings) tuples. */
  profiles?: any[];
}

/** The `c` object of a config file: one section per configurable class. */
export interface Config {
  Application: ApplicationConfig;
  JupyterHub: JupyterHubConfig;
  Spawner: SpawnerConfig;
  LocalProcessSpawner: LocalProcessSpawnerConfig;
  SimpleLocalProcessSpawner: SimpleLocalProcessSpawnerConfig;
  SudoSpawner: SudoSpawnerConfig;
  Authenticator: AuthenticatorConfig;
  LocalAuthenticator: LocalAuthenticatorConfig;
  PAMAuthenticator: PAMAuthenticatorConfig;
  DummyAuthenticator: DummyAuthenticatorConfig;
  SharedPasswordAuthenticator: SharedPasswordAuthenticatorConfig;
  NullAuthenticator: NullAuthenticatorConfig;
  OAuthenticator: OAuthenticatorConfig;
  GenericOAuthenticator: GenericOAuthenticatorConfig;
  LocalGenericOAuthenticator: LocalGenericOAuthenticatorConfig;
  Proxy: ProxyConfig;
  ConfigurableHTTPProxy: ConfigurableHTTPProxyConfig;
  CryptKeeper: CryptKeeperConfig;
  GitHubOAuthenticator: GitHubOAuthenticatorConfig;
  LocalGitHubOAuthenticator: LocalGitHubOAuthenticatorConfig;
  GitLabOAuthenticator: GitLabOAuthenticatorConfig;
  LocalGitLabOAuthenticator: LocalGitLabOAuthenticatorConfig;
  GoogleOAuthenticator: GoogleOAuthenticatorConfig;
  LocalGoogleOAuthenticator: LocalGoogleOAuthenticatorConfig;
  AzureAdOAuthenticator: AzureAdOAuthenticatorConfig;
  LocalAzureAdOAuthenticator: LocalAzureAdOAuthenticatorConfig;
  Auth0OAuthenticator: Auth0OAuthenticatorConfig;
  LocalAuth0OAuthenticator: LocalAuth0OAuthenticatorConfig;
  BitbucketOAuthenticator: BitbucketOAuthenticatorConfig;
  LocalBitbucketOAuthenticator: LocalBitbucketOAuthenticatorConfig;
  CILogonOAuthenticator: CILogonOAuthenticatorConfig;
  LocalCILogonOAuthenticator: LocalCILogonOAuthenticatorConfig;
  GlobusOAuthenticator: GlobusOAuthenticatorConfig;
  LocalGlobusOAuthenticator: LocalGlobusOAuthenticatorConfig;
  MWOAuthenticator: MWOAuthenticatorConfig;
  OpenShiftOAuthenticator: OpenShiftOAuthenticatorConfig;
  LocalOpenShiftOAuthenticator: LocalOpenShiftOAuthenticatorConfig;
  SystemdSpawner: SystemdSpawnerConfig;
  DockerSpawner: DockerSpawnerConfig;
  SwarmSpawner: SwarmSpawnerConfig;
  KubeSpawner: KubeSpawnerConfig;
  BatchSpawnerBase: BatchSpawnerBaseConfig;
  SlurmSpawner: SlurmSpawnerConfig;
  TorqueSpawner: TorqueSpawnerConfig;
  MoabSpawner: MoabSpawnerConfig;
  PBSSpawner: PBSSpawnerConfig;
  GridengineSpawner: GridengineSpawnerConfig;
  CondorSpawner: CondorSpawnerConfig;
  LsfSpawner: LsfSpawnerConfig;
  WrapSpawner: WrapSpawnerConfig;
  ProfilesSpawner: ProfilesSpawnerConfig;
  /** Sections of classes unknown to jhub are accepted (with a warning). */
  [section: string]: any;
}

declare global {
  /** Available while a TypeScript/JavaScript config file is loaded. */
  function get_config(): Config;
}
