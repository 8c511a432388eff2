// The informer caches hand the controller their own objects. Copying each of them on every pass
// cost more CPU than deciding; freezing each object once, when it arrives, gives the same
// protection: anything that tried to change a cached object would throw (ES modules are strict)
// instead of silently changing what the next pass sees.

/** Freezes the object and everything reachable from it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const member of Object.values(value as object)) deepFreeze(member);
  return value;
}
