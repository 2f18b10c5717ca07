import { SetMetadata } from '@nestjs/common';
import { SkipThrottle } from '@nestjs/throttler';

/** The throttlers, by name: the keys of @Throttle() and @SkipThrottle() too. */
export const THROTTLERS = { ip: 'ip', user: 'user', creates: 'creates' } as const;

export const CREATE_RATE_LIMIT = 'urumi:throttling:creates';

/** The handler also counts against the stricter per-user create limit (RATE_LIMIT_CREATES_PER_MINUTE). */
export const CreateRateLimit = (): MethodDecorator & ClassDecorator => SetMetadata(CREATE_RATE_LIMIT, true);

/** The handler (or controller) is never rate limited: probes, metrics. */
export const SkipRateLimit = (): MethodDecorator & ClassDecorator =>
  SkipThrottle({ [THROTTLERS.ip]: true, [THROTTLERS.user]: true, [THROTTLERS.creates]: true });
