import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type * as api from '@urumi/contracts';
import { engineName, EngineName, Step, stepLabel, stepSlug, Store, timestampDate, Timestamp } from '@urumi/contracts';

export class StepView implements api.StepView {
  @ApiProperty({ example: 'namespace-ready' }) step!: string;
  @ApiProperty({ example: 'Namespace ready' }) label!: string;
  @ApiProperty() at!: string;
  @ApiPropertyOptional() reason?: string;
  @ApiPropertyOptional() message?: string;
}

export class ConditionView implements api.ConditionView {
  @ApiProperty({ enum: ['Ready', 'Progressing', 'Degraded'] }) type!: string;
  @ApiProperty({ enum: ['True', 'False', 'Unknown'] }) status!: string;
  @ApiProperty() reason!: string;
  @ApiProperty() message!: string;
  @ApiPropertyOptional() lastTransitionTime?: string;
}

/** A store as the API shows it. Never carries a secret: the read model holds none. */
export class StoreView implements api.StoreView {
  @ApiProperty({ example: '0f8c1c3e-6a47-4a8e-9f8e-0c6f4c1d2b7a' }) id!: string;
  @ApiProperty({ example: 'fashion-boutique' }) name!: string;
  @ApiProperty({ enum: ['woocommerce', 'medusa'] }) engine!: EngineName;
  @ApiProperty({ example: 'alice' }) owner!: string;
  @ApiProperty({ example: 'queued', description: 'machine-readable step' }) step!: string;
  @ApiProperty({ example: 'Queued', description: 'the step as people read it' }) status!: string;
  @ApiPropertyOptional({ example: 'QuotaExceeded' }) reason?: string;
  @ApiPropertyOptional({ example: 'quota: 3 of 3 active stores' }) message?: string;
  @ApiProperty({ example: 'http://fashion-boutique.127.0.0.1.nip.io' }) url!: string;
  @ApiProperty({ example: 'store-fashion-boutique' }) namespace!: string;
  @ApiProperty() createdAt!: string;
  @ApiProperty() updatedAt!: string;
  @ApiProperty({ type: [ConditionView] }) conditions!: ConditionView[];
  @ApiProperty({ type: [StepView] }) history!: StepView[];
}

export class StoreList implements api.StoreList {
  @ApiProperty({ type: [StoreView] }) items!: StoreView[];
  @ApiPropertyOptional({ description: 'pass as `after` for the next page; absent on the last page' }) next?: string;
}

const iso = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString() : '');

export function toStoreView(store: Store, storeUrl: (name: string) => string): StoreView {
  return {
    id: store.id,
    name: store.name,
    engine: engineName(store.engine),
    owner: store.owner,
    step: stepSlug(store.step),
    status: stepLabel(store.step),
    ...(store.reason ? { reason: store.reason } : {}),
    ...(store.message ? { message: store.message } : {}),
    url: store.url || storeUrl(store.name),
    namespace: store.namespace,
    createdAt: iso(store.createdAt),
    updatedAt: iso(store.updatedAt ?? store.createdAt),
    conditions: store.conditions.map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      ...(c.lastTransitionTime ? { lastTransitionTime: iso(c.lastTransitionTime) } : {}),
    })),
    history: store.history.map((h) => ({
      step: stepSlug(h.step),
      label: stepLabel(h.step),
      at: iso(h.at),
      ...(h.reason ? { reason: h.reason } : {}),
      ...(h.message ? { message: h.message } : {}),
    })),
  };
}

const stepsBySlug = new Map(
  Object.values(Step)
    .filter((s): s is Step => typeof s === 'number' && s !== Step.UNSPECIFIED)
    .map((s) => [stepSlug(s), s]),
);

/** The step a `?status=` filter value (`ready`, `failed`, …) names, if any. */
export function stepFromSlug(value: string): Step | undefined {
  return stepsBySlug.get(value);
}
