import { inject } from '@angular/core';
import { CanActivateFn, Router } from '@angular/router';
import { Session } from './session';

export const signedIn: CanActivateFn = (_route, state) =>
  inject(Session).signedIn() || inject(Router).createUrlTree(['/sign-in'], { queryParams: { returnUrl: state.url } });

export const signedOut: CanActivateFn = () => !inject(Session).signedIn() || inject(Router).createUrlTree(['/stores']);

export const adminOnly: CanActivateFn = () => inject(Session).isAdmin() || inject(Router).createUrlTree(['/stores']);
