import type { Plan } from '@urumi/kube';

export interface PlanSize {
  readonly quota: Record<string, string>;
  readonly maxPvc: string;
}

const small: PlanSize = {
  quota: {
    'requests.cpu': '1',
    'requests.memory': '2Gi',
    'limits.cpu': '2',
    'limits.memory': '4Gi',
    'requests.storage': '10Gi',
    persistentvolumeclaims: '4',
    pods: '10',
    services: '5',
    'services.loadbalancers': '0',
    'services.nodeports': '0',
    secrets: '10',
    configmaps: '10',
  },
  maxPvc: '5Gi',
};

/** medium and large scale the small plan's compute and storage; object counts stay. */
function scaled(factor: number): PlanSize {
  const scale = (quantity: string) => {
    const [, amount = '0', unit = ''] = /^(\d+)(\D*)$/.exec(quantity) ?? [];
    return `${Number(amount) * factor}${unit}`;
  };
  const compute = ['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory', 'requests.storage'];
  return {
    quota: Object.fromEntries(
      Object.entries(small.quota).map(([key, value]) => [key, compute.includes(key) ? scale(value) : value]),
    ),
    maxPvc: scale(small.maxPvc),
  };
}

/** A store's ResourceQuota and LimitRange by plan (the engine charts fit the small plan: charts/README.md). */
export const plans: Readonly<Record<Plan, PlanSize>> = { small, medium: scaled(2), large: scaled(4) };
