import { Routes } from '@angular/router';
import { adminOnly, signedIn, signedOut } from './core/guards';

export const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'stores' },
  {
    path: 'sign-in',
    title: 'Sign in · Urumi',
    canActivate: [signedOut],
    loadComponent: () => import('./sign-in/sign-in.page').then((m) => m.SignInPage),
  },
  {
    path: 'stores',
    title: 'Stores · Urumi',
    canActivate: [signedIn],
    loadComponent: () => import('./stores/stores.page').then((m) => m.StoresPage),
  },
  {
    path: 'stores/:id',
    title: 'Store · Urumi',
    canActivate: [signedIn],
    loadComponent: () => import('./store-detail/store-detail.page').then((m) => m.StoreDetailPage),
  },
  {
    path: 'audit',
    title: 'Audit trail · Urumi',
    canActivate: [signedIn, adminOnly],
    loadComponent: () => import('./audit/audit.page').then((m) => m.AuditPage),
  },
  {
    path: 'platform',
    title: 'Platform · Urumi',
    canActivate: [signedIn, adminOnly],
    loadComponent: () => import('./platform/platform.page').then((m) => m.PlatformPage),
  },
  { path: '**', redirectTo: 'stores' },
];
