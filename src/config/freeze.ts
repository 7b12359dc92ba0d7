// A configuration is read once at start and then only read: frozen, objects and arrays all the way
// down, so no stage can change what another was started with (a SIGHUP reload builds new values).
// Maps are typed ReadonlyMap; buffers cannot be frozen and are left as they are.

export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || value instanceof Map || Object.isFrozen(value)) return value;
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<string | symbol, unknown>)[key]);
  return Object.freeze(value);
}
