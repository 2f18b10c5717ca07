import type { MedusaRequest, MedusaResponse } from '@medusajs/framework/http';
import { findPublishableKey } from '../../../lib/publishable-key';

/** What a storefront needs to call the Store API: the publishable key the seed created, read at run time. */
export async function GET(req: MedusaRequest, res: MedusaResponse): Promise<void> {
  const publishableKey = await findPublishableKey(req.scope);
  if (!publishableKey) {
    res.status(503).json({ message: 'The store is not seeded yet' });
    return;
  }
  res.json({ publishable_key: publishableKey });
}
