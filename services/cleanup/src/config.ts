import { buckets } from '@urumi/contracts';
import { envInt, envString } from '@urumi/runtime';
import { leaderElectionFromEnv } from '@urumi/kube';
import type { LeaderElectionSettings } from '@urumi/kube';
import { natsSettingsFromEnv, NatsSettings } from '@urumi/messaging';

export interface CleanupConfig {
  readonly host: string;
  readonly port: number;
  readonly nats: NatsSettings;
  /** Stores torn down at the same time. */
  readonly workers: number;
  readonly helmBinary: string;
  /** How often the orphan sweep runs. */
  readonly sweepMs: number;
  /** A store namespace without a Store is left alone this long (it may be mid-creation). */
  readonly orphanGraceMs: number;
  /** A teardown taking longer than this is reported Degraded (it keeps retrying). */
  readonly stuckAfterMs: number;
  readonly lifecycleBucket: string;
  /** Only the replica that leads the Lease tears down and sweeps (LEADER_ELECTION and friends, @urumi/kube's leadership.ts). */
  readonly leaderElection: LeaderElectionSettings;
}

export function cleanupConfigFromEnv(env: NodeJS.ProcessEnv): CleanupConfig {
  return {
    host: envString(env, 'CLEANUP_HOST', '127.0.0.1'),
    port: envInt(env, 'CLEANUP_PORT', 8083, { min: 1, max: 65535 }),
    nats: natsSettingsFromEnv(env),
    workers: envInt(env, 'CLEANUP_WORKERS', 4, { min: 1, max: 64 }),
    helmBinary: envString(env, 'HELM_BINARY', 'helm'),
    sweepMs: envInt(env, 'SWEEP_SECONDS', 60, { min: 1 }) * 1000,
    orphanGraceMs: envInt(env, 'ORPHAN_GRACE_SECONDS', 120, { min: 0 }) * 1000,
    stuckAfterMs: envInt(env, 'TEARDOWN_STUCK_SECONDS', 300, { min: 1 }) * 1000,
    lifecycleBucket: envString(env, 'LIFECYCLE_BUCKET', buckets.storeLifecycle),
    leaderElection: leaderElectionFromEnv(env, 'urumi-cleanup'),
  };
}

export const CLEANUP_CONFIG = Symbol('CLEANUP_CONFIG');
export const STORE_LIFECYCLE = Symbol('STORE_LIFECYCLE');
/** The Store cache the orphan sweep consults (Teardown's informer). */
export const STORE_CACHE = Symbol('STORE_CACHE');
