// Built-in error pages (used when neither --error-target nor --error-path is given).
const page = (code: number, title: string, text: string): string => `<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>${code}: ${title}</title>
  </head>
  <body>
    <h1>${code}: ${title}</h1>
    <p>${text}</p>
    <hr />
    <p>jhub-proxy</p>
  </body>
</html>
`;

export const BUILTIN_ERROR_PAGES: Record<number, string> = {
  404: page(404, 'Not Found', 'No service is registered at this URL'),
  503: page(503, 'Service Unavailable', 'The upstream service is unavailable'),
};

export function builtinErrorPage(code: number, reason: string): string {
  return BUILTIN_ERROR_PAGES[code] ?? page(code, reason, 'Proxy error');
}
