import type { ExecArgs } from '@medusajs/framework/types';
import { ContainerRegistrationKeys, FeatureFlag, Modules } from '@medusajs/framework/utils';
import { createUsersWorkflow } from '@medusajs/medusa/core-flows';

const provider = 'emailpass';

/**
 * Creates the store's admin user from MEDUSA_ADMIN_EMAIL and MEDUSA_ADMIN_PASSWORD (the chart reads them
 * from the store's Secret). Safe to re-run: an existing user is kept and its password set to the current one.
 */
export default async function createAdmin({ container }: ExecArgs): Promise<void> {
  const logger = container.resolve(ContainerRegistrationKeys.LOGGER);
  const email = process.env.MEDUSA_ADMIN_EMAIL?.trim().toLowerCase();
  const password = process.env.MEDUSA_ADMIN_PASSWORD;
  if (!email || !password) {
    throw new Error('MEDUSA_ADMIN_EMAIL and MEDUSA_ADMIN_PASSWORD must be set');
  }
  const userModule = container.resolve(Modules.USER);
  const authModule = container.resolve(Modules.AUTH);

  let [user] = await userModule.listUsers({ email });
  if (user) {
    logger.info(`Admin user exists: ${email}`);
  } else {
    const roles: string[] = [];
    if (FeatureFlag.isFeatureEnabled('rbac')) {
      const rbac = container.resolve(Modules.RBAC);
      const [superAdmin] = await rbac.listRbacRoles({ id: 'role_super_admin' });
      if (superAdmin) roles.push(superAdmin.id);
    }
    const { result } = await createUsersWorkflow(container).run({ input: { users: [{ email, roles }] } });
    user = result[0];
    logger.info(`Created admin user: ${email}`);
  }

  const [identity] = await authModule.listProviderIdentities({ entity_id: email, provider });
  if (identity) {
    const { success, error } = await authModule.updateProvider(provider, { entity_id: email, password });
    if (!success) throw new Error(`Could not set the admin password: ${error}`);
    logger.info('Admin login exists; password set from the environment');
    return;
  }
  const { authIdentity, error } = await authModule.register(provider, { body: { email, password } });
  if (error || !authIdentity) throw new Error(`Could not create the admin login: ${error}`);
  await authModule.updateAuthIdentities({ id: authIdentity.id, app_metadata: { user_id: user.id } });
  logger.info(`Created admin login: ${email}`);
}
