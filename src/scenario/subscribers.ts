import type { Scenario, Subscriber } from './types.js';

/**
 * Whether a subscription has invalidate_range_end: kvm and gru always; an HMM mirror through
 * hmm's start/end before mainline, but in mainline it is an interval notifier, which has none;
 * a generic one as the scenario says; iommu-sva has neither start nor end.
 */
export function subscriberHasEnd(sub: Subscriber, policy: Scenario['notifiers']['policy']): boolean {
  if (sub.client === 'generic') return sub.implementsEnd;
  if (sub.client === 'iommu-sva') return false;
  return sub.client !== 'mirror' || policy !== 'mainline';
}

/**
 * A process's subscriptions in registration order (mmu_notifier_register calls): those
 * registered, by `place` where given (it wins a tie), else by their place in the map.
 */
export function registrationOrder(subs: Record<string, Subscriber>): [string, Subscriber][] {
  const keyed = Object.entries(subs).map(([name, sub], i) => ({ name, sub, key: sub.place >= 0 ? sub.place : i, explicit: sub.place >= 0 ? 0 : 1, i }));
  return keyed.filter((k) => k.sub.registered)
    .sort((a, b) => a.key - b.key || a.explicit - b.explicit || a.i - b.i)
    .map((k) => [k.name, k.sub]);
}
