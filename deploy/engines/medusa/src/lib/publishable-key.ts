import type { MedusaContainer } from '@medusajs/framework/types';
import { Modules } from '@medusajs/framework/utils';

/** The title the seed gives the storefront's publishable key; the storefront finds the key by it at run time. */
export const publishableKeyTitle = (): string => process.env.MEDUSA_PUBLISHABLE_KEY_TITLE || 'Storefront';

export async function findPublishableKey(container: MedusaContainer): Promise<string | undefined> {
  const keys = await container
    .resolve(Modules.API_KEY)
    .listApiKeys({ title: publishableKeyTitle(), type: 'publishable' }, { order: { created_at: 'ASC' } });
  return keys.find((key) => !key.revoked_at)?.token;
}
