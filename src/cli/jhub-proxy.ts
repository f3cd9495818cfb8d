// jhub-proxy command line: the flags of configurable-http-proxy 5.3.0 (plus --storage-path).
import fs from 'node:fs';
import { createLogger, isLogLevel, type Logger } from '../proxy/log.js';
import { startProxy, type ProxyOptions, type RunningProxy, type TlsServerOptions } from '../proxy/server.js';
import { StoreError } from '../proxy/store.js';

const VERSION = '0.1.0';

type Kind = 'string' | 'int' | 'bool' | 'neg' | 'header';
interface Flag {
  name: string;
  arg?: string;
  kind: Kind;
  help: string;
}

const FLAGS: Flag[] = [
  { name: 'ip', arg: '<ip-address>', kind: 'string', help: 'Public-facing IP of the proxy (default: all interfaces)' },
  { name: 'port', arg: '<n>', kind: 'int', help: 'Public-facing port of the proxy (default: 8000)' },
  { name: 'socket', arg: '<path>', kind: 'string', help: 'Path to a UNIX domain socket for the proxy to listen on (instead of ip/port)' },
  { name: 'ssl-key', arg: '<keyfile>', kind: 'string', help: 'SSL key to use, if any' },
  { name: 'ssl-cert', arg: '<certfile>', kind: 'string', help: 'SSL certificate to use, if any' },
  { name: 'ssl-ca', arg: '<ca-file>', kind: 'string', help: 'SSL certificate authority, if any' },
  { name: 'ssl-request-cert', kind: 'bool', help: 'Request SSL certs to authenticate clients' },
  { name: 'ssl-reject-unauthorized', kind: 'bool', help: 'Reject unauthorized SSL connections (only meaningful with --ssl-request-cert)' },
  { name: 'ssl-protocol', arg: '<ssl-protocol>', kind: 'string', help: 'Set specific SSL protocol, e.g. TLSv1_2' },
  { name: 'ssl-ciphers', arg: '<ciphers>', kind: 'string', help: '`:`-separated ssl cipher list. Default excludes RC4' },
  { name: 'ssl-allow-rc4', kind: 'bool', help: 'Allow RC4 cipher for SSL (disabled by default)' },
  { name: 'ssl-dhparam', arg: '<dhparam-file>', kind: 'string', help: 'SSL Diffie-Hellman parameters pem file, if any' },
  { name: 'api-ip', arg: '<ip>', kind: 'string', help: 'Inward-facing IP for API requests (default: "localhost")' },
  { name: 'api-port', arg: '<n>', kind: 'int', help: 'Inward-facing port for API requests (default: --port + 1)' },
  { name: 'api-socket', arg: '<path>', kind: 'string', help: 'Path to a UNIX domain socket for the API server (instead of api ip/port)' },
  { name: 'api-ssl-key', arg: '<keyfile>', kind: 'string', help: 'SSL key to use, if any, for API requests' },
  { name: 'api-ssl-cert', arg: '<certfile>', kind: 'string', help: 'SSL certificate to use, if any, for API requests' },
  { name: 'api-ssl-ca', arg: '<ca-file>', kind: 'string', help: 'SSL certificate authority, if any, for API requests' },
  { name: 'api-ssl-request-cert', kind: 'bool', help: 'Request SSL certs to authenticate clients for API requests' },
  { name: 'api-ssl-reject-unauthorized', kind: 'bool', help: 'Reject unauthorized SSL connections (only meaningful with --api-ssl-request-cert)' },
  { name: 'client-ssl-key', arg: '<keyfile>', kind: 'string', help: 'SSL key to use, if any, for proxy to target requests' },
  { name: 'client-ssl-cert', arg: '<certfile>', kind: 'string', help: 'SSL certificate to use, if any, for proxy to target requests' },
  { name: 'client-ssl-ca', arg: '<ca-file>', kind: 'string', help: 'SSL certificate authority, if any, for proxy to target requests' },
  { name: 'client-ssl-request-cert', kind: 'bool', help: 'Accepted for compatibility (no effect on outgoing requests)' },
  { name: 'client-ssl-reject-unauthorized', kind: 'bool', help: 'Accepted for compatibility (no effect on outgoing requests)' },
  { name: 'default-target', arg: '<host>', kind: 'string', help: 'Default proxy target (proto://host[:port])' },
  { name: 'error-target', arg: '<host>', kind: 'string', help: 'Alternate server for handling proxy errors (proto://host[:port])' },
  { name: 'error-path', arg: '<path>', kind: 'string', help: 'Directory with <code>.html / error.html pages for proxy errors' },
  { name: 'redirect-port', arg: '<redirect-port>', kind: 'int', help: 'Redirect HTTP requests on this port to the server on HTTPS' },
  { name: 'redirect-to', arg: '<port>', kind: 'int', help: 'Redirect HTTP requests from --redirect-port to this port' },
  { name: 'pid-file', arg: '<pid-file>', kind: 'string', help: 'Write our PID to a file' },
  { name: 'no-x-forward', kind: 'neg', help: "Don't add 'X-forward-' headers to proxied requests" },
  { name: 'no-prepend-path', kind: 'neg', help: 'Avoid prepending target paths to proxied requests' },
  { name: 'no-include-prefix', kind: 'neg', help: "Don't include the routing prefix in proxied requests" },
  { name: 'auto-rewrite', kind: 'bool', help: 'Rewrite the Location header host/port in redirect responses' },
  { name: 'change-origin', kind: 'bool', help: 'Changes the origin of the host header to the target URL' },
  { name: 'protocol-rewrite', arg: '<proto>', kind: 'string', help: 'Rewrite the Location header protocol in redirect responses to the specified protocol' },
  { name: 'custom-header', arg: '<header>', kind: 'header', help: 'Custom header to add to proxied requests (repeatable: --custom-header k1:v1 --custom-header k2:v2)' },
  { name: 'insecure', kind: 'bool', help: 'Disable SSL cert verification (of https targets)' },
  { name: 'host-routing', kind: 'bool', help: 'Use host routing (host as first level of path)' },
  { name: 'metrics-ip', arg: '<ip>', kind: 'string', help: 'IP for metrics server (default: "")' },
  { name: 'metrics-port', arg: '<n>', kind: 'int', help: 'Port of metrics server. Defaults to no metrics server' },
  { name: 'metrics-socket', arg: '<path>', kind: 'string', help: 'Path to a UNIX domain socket for the metrics server' },
  { name: 'log-level', arg: '<loglevel>', kind: 'string', help: 'Log level (debug, info, warn, error) (default: "info")' },
  { name: 'timeout', arg: '<n>', kind: 'int', help: 'Timeout (in millis) when proxy drops connection for a request.' },
  { name: 'proxy-timeout', arg: '<n>', kind: 'int', help: 'Timeout (in millis) when proxy receives no response from target.' },
  { name: 'storage-backend', arg: '<storage-class>', kind: 'string', help: 'Route storage: "memory" (default, like CHP) or "file" (persistent, needs --storage-path)' },
  { name: 'storage-path', arg: '<file>', kind: 'string', help: '[jhub-proxy] JSON file for --storage-backend file (written atomically)' },
  { name: 'keep-alive-timeout', arg: '<timeout>', kind: 'int', help: 'Set timeout (in milliseconds) for Keep-Alive connections (default: 5000)' },
];

const BY_NAME = new Map(FLAGS.map((f) => [f.name, f]));

export class UsageError extends Error {}

export type ParsedArgs = Record<string, string | number | boolean | Record<string, string> | undefined> & {
  customHeader: Record<string, string>;
};

function camel(name: string): string {
  return name.replace(/-(.)/g, (_, c: string) => c.toUpperCase());
}

export function usage(): string {
  const lines = ['Usage: jhub-proxy [options]', '', 'A fast drop-in replacement for configurable-http-proxy 5.3.0.', '', 'Options:'];
  const rows: Array<[string, string]> = [
    ['-V, --version', 'output the version number'],
    ...FLAGS.map((f): [string, string] => [`--${f.name}${f.arg ? ' ' + f.arg : ''}`, f.help]),
    ['-h, --help', 'display help for command'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  for (const [a, b] of rows) lines.push('  ' + a.padEnd(w) + b);
  lines.push(
    '',
    'Environment: CONFIGPROXY_AUTH_TOKEN (API token; unset = unauthenticated API),',
    '  CONFIGPROXY_SSL_KEY_PASSPHRASE, CONFIGPROXY_API_SSL_KEY_PASSPHRASE.',
    '',
  );
  return lines.join('\n');
}

/** Parse argv (without node and script). Throws UsageError; returns 'help' / 'version'. */
export function parseArgs(argv: string[]): ParsedArgs | 'help' | 'version' {
  const out: ParsedArgs = {
    apiIp: 'localhost',
    metricsIp: '',
    logLevel: 'info',
    xForward: true,
    prependPath: true,
    includePrefix: true,
    customHeader: {},
  };
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i];
    if (tok === '-h' || tok === '--help') return 'help';
    if (tok === '-V' || tok === '--version') return 'version';
    if (!tok.startsWith('--') || tok === '--') {
      throw new UsageError(`error: unexpected argument '${tok}'`);
    }
    let name = tok.slice(2);
    let inline: string | undefined;
    const eq = name.indexOf('=');
    if (eq !== -1) {
      inline = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const flag = BY_NAME.get(name);
    if (!flag) throw new UsageError(`error: unknown option '--${name}'`);
    if (flag.kind === 'bool' || flag.kind === 'neg') {
      if (inline !== undefined) throw new UsageError(`error: option '--${name}' does not take a value`);
      if (flag.kind === 'neg') out[camel(name.slice(3))] = false;
      else out[camel(name)] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`error: option '--${name} ${flag.arg}' argument missing`);
      value = argv[++i];
    }
    if (flag.kind === 'int') {
      const v = value.trim();
      if (!/^\d+$/.test(v)) throw new UsageError(`error: option '--${name}' expects a non-negative integer, got '${value}'`);
      const n = Number(v);
      if (/port/.test(name) && n > 65535) throw new UsageError(`error: option '--${name}' expects a port number (0-65535), got '${value}'`);
      out[camel(name)] = n;
    } else if (flag.kind === 'header') {
      const v = value.trim();
      const colon = v.indexOf(':');
      if (colon <= 0) throw new UsageError(`A colon was expected in custom header: ${v}`);
      out.customHeader[v.slice(0, colon).trim()] = v.slice(colon + 1).trim();
    } else {
      out[camel(name)] = value;
    }
  }
  const lvl = String(out.logLevel).toLowerCase();
  if (!isLogLevel(lvl)) throw new UsageError(`error: option '--log-level' must be one of debug, info, warn, error; got '${out.logLevel}'`);
  out.logLevel = lvl;
  if (out.socket !== undefined && (out.port !== undefined || out.ip !== undefined)) {
    throw new UsageError("error: option '--socket <path>' cannot be used with option '--port' or '--ip'");
  }
  if (out.apiSocket !== undefined && (out.apiPort !== undefined || argv.some((a) => a === '--api-ip' || a.startsWith('--api-ip=')))) {
    throw new UsageError("error: option '--api-socket <path>' cannot be used with option '--api-port' or '--api-ip'");
  }
  if (out.metricsSocket !== undefined && (out.metricsPort !== undefined || argv.some((a) => a === '--metrics-ip' || a.startsWith('--metrics-ip=')))) {
    throw new UsageError("error: option '--metrics-socket <path>' cannot be used with option '--metrics-port' or '--metrics-ip'");
  }
  return out;
}

const DEFAULT_CIPHERS = (rc4: boolean) =>
  [
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'DHE-RSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-SHA256',
    'DHE-RSA-AES128-SHA256',
    'ECDHE-RSA-AES256-SHA384',
    'DHE-RSA-AES256-SHA384',
    'ECDHE-RSA-AES256-SHA256',
    'DHE-RSA-AES256-SHA256',
    'HIGH',
    rc4 ? 'RC4' : '!RC4',
    '!aNULL',
    '!eNULL',
    '!EXPORT',
    '!DES',
    '!RC4',
    '!MD5',
    '!PSK',
    '!SRP',
    '!CAMELLIA',
  ].join(':');

function readFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
}

/** Split a PEM bundle into its certificates (so several CAs can be given in one file). */
function loadCaBundle(file: string, what: string): Buffer[] {
  const text = readFile(file, what).toString('utf8');
  const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  return certs ? certs.map((c) => Buffer.from(c + '\n')) : [Buffer.from(text)];
}

/** Turn parsed flags into startProxy options (reads TLS files). */
export function buildOptions(a: ParsedArgs, log: Logger, env: NodeJS.ProcessEnv = process.env): ProxyOptions {
  const s = (k: string) => a[k] as string | undefined;
  const n = (k: string) => a[k] as number | undefined;
  const b = (k: string) => a[k] === true;
  const ciphers = s('sslCiphers') ?? DEFAULT_CIPHERS(b('sslAllowRc4'));
  const o: ProxyOptions = { log };
  if (s('sslKey') || s('sslCert')) {
    const t: TlsServerOptions = { ciphers, honorCipherOrder: true };
    if (s('sslKey')) {
      t.key = readFile(s('sslKey')!, 'SSL key');
      if (env.CONFIGPROXY_SSL_KEY_PASSPHRASE) t.passphrase = env.CONFIGPROXY_SSL_KEY_PASSPHRASE;
    }
    if (s('sslCert')) t.cert = readFile(s('sslCert')!, 'SSL certificate');
    if (s('sslCa')) t.ca = readFile(s('sslCa')!, 'SSL CA');
    if (s('sslDhparam')) t.dhparam = readFile(s('sslDhparam')!, 'SSL dhparam');
    if (s('sslProtocol')) t.secureProtocol = s('sslProtocol') + '_method';
    t.requestCert = b('sslRequestCert');
    t.rejectUnauthorized = b('sslRejectUnauthorized');
    o.ssl = t;
  }
  if (s('apiSslKey') || s('apiSslCert')) {
    const t: TlsServerOptions = { ciphers, honorCipherOrder: true };
    if (s('apiSslKey')) {
      t.key = readFile(s('apiSslKey')!, 'API SSL key');
      if (env.CONFIGPROXY_API_SSL_KEY_PASSPHRASE) t.passphrase = env.CONFIGPROXY_API_SSL_KEY_PASSPHRASE;
    }
    if (s('apiSslCert')) t.cert = readFile(s('apiSslCert')!, 'API SSL certificate');
    if (s('apiSslCa')) t.ca = loadCaBundle(s('apiSslCa')!, 'API SSL CA');
    if (s('sslDhparam')) t.dhparam = readFile(s('sslDhparam')!, 'SSL dhparam');
    if (s('sslProtocol')) t.secureProtocol = s('sslProtocol') + '_method';
    t.requestCert = b('apiSslRequestCert');
    t.rejectUnauthorized = b('apiSslRejectUnauthorized');
    o.apiSsl = t;
  }
  if (s('clientSslKey') || s('clientSslCert') || s('clientSslCa')) {
    o.clientSsl = {};
    if (s('clientSslKey')) o.clientSsl.key = readFile(s('clientSslKey')!, 'client SSL key');
    if (s('clientSslCert')) o.clientSsl.cert = readFile(s('clientSslCert')!, 'client SSL certificate');
    if (s('clientSslCa')) o.clientSsl.ca = loadCaBundle(s('clientSslCa')!, 'client SSL CA');
  }
  o.ip = s('ip');
  o.port = n('port');
  o.socket = s('socket');
  o.apiIp = s('apiIp');
  o.apiPort = n('apiPort');
  o.apiSocket = s('apiSocket');
  o.metricsIp = s('metricsIp');
  o.metricsPort = n('metricsPort');
  o.metricsSocket = s('metricsSocket');
  o.enableMetrics = !!(n('metricsPort') || s('metricsSocket'));
  o.defaultTarget = s('defaultTarget');
  o.errorTarget = s('errorTarget');
  o.errorPath = s('errorPath');
  o.redirectPort = n('redirectPort');
  // CHP keeps --redirect-to as a string (so it is never === 443); keep that observable behaviour
  o.redirectTo = a.redirectTo !== undefined ? String(a.redirectTo) : undefined;
  o.hostRouting = b('hostRouting');
  o.customHeaders = a.customHeader;
  o.timeout = n('timeout');
  o.proxyTimeout = n('proxyTimeout');
  o.keepAliveTimeout = n('keepAliveTimeout');
  o.insecure = b('insecure');
  o.xForward = a.xForward !== false;
  o.prependPath = a.prependPath !== false;
  o.includePrefix = a.includePrefix !== false;
  o.authToken = env.CONFIGPROXY_AUTH_TOKEN || undefined;
  o.storageBackend = s('storageBackend');
  o.storagePath = s('storagePath');
  if (o.storagePath && !o.storageBackend) o.storageBackend = 'file';
  if (b('autoRewrite')) {
    o.autoRewrite = true;
    log.info('AutoRewrite of Location headers enabled.');
  }
  if (b('changeOrigin')) {
    o.changeOrigin = true;
    log.info('Change Origin of host headers enabled.');
  }
  if (s('protocolRewrite')) {
    o.protocolRewrite = s('protocolRewrite');
    log.info('ProtocolRewrite enabled. Rewriting to %s', o.protocolRewrite);
  }
  if (o.redirectPort && !o.ssl) throw new UsageError('HTTPS redirection specified but certificates not provided.');
  if (o.errorTarget && o.errorPath) throw new UsageError('Cannot specify both error-target and error-path. Pick one.');
  if (o.storageBackend === 'file' && !o.storagePath) throw new UsageError('--storage-backend file requires --storage-path <file>');
  return o;
}

export async function main(argv: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`jhub-proxy: ${(e as Error).message} (see --help)\n`);
    process.exit(1);
  }
  if (parsed === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (parsed === 'version') {
    process.stdout.write(VERSION + '\n');
    return;
  }
  const log = createLogger(parsed.logLevel as 'info');
  let proxy: RunningProxy;
  try {
    proxy = await startProxy(buildOptions(parsed, log));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg = e instanceof UsageError || e instanceof StoreError ? err.message : err.code ? `${err.message}` : String(err.message ?? e);
    log.error('%s', msg);
    process.stderr.write(`jhub-proxy: ${msg}\n`);
    process.exit(1);
  }

  process.on('uncaughtException', (e) => {
    log.error('Uncaught Exception: %s', e?.message);
    if (e?.stack) log.error('%s', e.stack);
  });

  const pidFile = parsed.pidFile as string | undefined;
  if (pidFile) {
    log.info('Writing pid %s to %s', process.pid, pidFile);
    fs.writeFileSync(pidFile, String(process.pid));
  }
  const removePid = () => {
    if (!pidFile) return;
    try {
      fs.unlinkSync(pidFile);
      log.debug('Removing %s', pidFile);
    } catch {
      // already gone
    }
  };
  process.on('exit', () => {
    try {
      proxy.flushSync();
    } catch (e) {
      log.error('Failed to flush route store: %s', (e as Error).message);
    }
    removePid();
  });

  let stopping = false;
  const stop = (why: string) => {
    if (stopping) {
      process.exit(0);
    }
    stopping = true;
    log.warn(why);
    const hard = setTimeout(() => process.exit(0), 5000);
    hard.unref();
    proxy.close().then(
      () => process.exit(0),
      (e) => {
        log.error('Error during shutdown: %s', (e as Error).message);
        process.exit(0);
      },
    );
  };
  process.on('SIGINT', () => stop('Interrupted'));
  process.on('SIGTERM', () => stop('Terminated'));
}
