// A configuration is read once at start and then only read: frozen, plain objects and arrays all the
// way down, so no stage can change what another was started with (a SIGHUP reload builds new values).
// Anything else a config carries is a live object with state of its own and is left as it is: a
// RegExp (its lastIndex moves as it matches: frozen, a global one throws), a Buffer, a Map (typed
// ReadonlyMap), a compiled rule set.

function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || !isPlain(value) || Object.isFrozen(value)) return value;
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<string | symbol, unknown>)[key]);
  return Object.freeze(value);
}
