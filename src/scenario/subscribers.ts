import type { Scenario, Subscriber } from './types.js';

/**
 * Whether a subscription has invalidate_range_end: kvm and gru always; an HMM mirror through
 * hmm's start/end before mainline, but in mainline it is an interval notifier, which has none;
 * a generic one as the scenario says.
 */
export function subscriberHasEnd(sub: Subscriber, policy: Scenario['notifiers']['policy']): boolean {
  if (sub.client === 'generic') return sub.implementsEnd;
  return sub.client !== 'mirror' || policy !== 'mainline';
}
