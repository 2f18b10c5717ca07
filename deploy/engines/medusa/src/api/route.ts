import type { MedusaRequest, MedusaResponse } from '@medusajs/framework/http';

// A minimal storefront: it asks /storefront/config for the publishable key, then lists the catalogue.
const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Store</title><meta name="viewport" content="width=device-width"></head>
<body>
<h1>Products</h1>
<ul id="products"><li>Loading…</li></ul>
<p><a href="/app">Store admin</a></p>
<script>
(async () => {
  const list = document.getElementById('products');
  const config = await (await fetch('/storefront/config')).json();
  const headers = { 'x-publishable-api-key': config.publishable_key };
  const { products } = await (await fetch('/store/products?fields=title,handle', { headers })).json();
  list.replaceChildren(...products.map((p) => Object.assign(document.createElement('li'), { textContent: p.title })));
})().catch((e) => { document.getElementById('products').textContent = 'The store is not ready: ' + e; });
</script>
</body>
</html>`;

export function GET(_req: MedusaRequest, res: MedusaResponse): void {
  res.type('html').send(page);
}
