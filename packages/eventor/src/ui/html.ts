/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A complete page around `body` (already escaped HTML); `data` goes to the page script as JSON. */
export function page(title: string, body: string, data?: unknown): string {
  const script =
    data === undefined
      ? ''
      : // JSON in a script element: `<` escaped so no name can end the element
        `<script type="application/json" id="ui-data">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>\n` +
        '<script type="module" src="/static/app.js"></script>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<header class="top"><a href="/">eventor</a></header>
<main>
${body}
</main>
${script}
</body>
</html>
`;
}

/** The page for a route or run that is not there: what was asked for, and a way back. */
export function notFoundPage(message: string): string {
  return page(
    'Not found · eventor',
    `<h1>Not found</h1>\n<p class="notfound">${escapeHtml(message)}</p>\n<p><a href="/">All runs</a></p>`,
  );
}
