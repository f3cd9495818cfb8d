/** Errors raised while reading or resolving the configuration. */

/**
 * A configuration problem the operator must fix. The message is complete (it already names
 * the file and line, or the command-line argument); the CLI prints it as one line, without
 * a stack trace.
 */
export class ConfigError extends Error {
  /** Print as `ERROR: <message>` instead of in log-line format. */
  plain: boolean;
  constructor(message: string, opts: { plain?: boolean } = {}) {
    super(message);
    this.name = 'ConfigError';
    this.plain = opts.plain ?? false;
  }
}
