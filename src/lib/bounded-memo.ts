/**
 * Values worked out from string keys, remembered per isolate within bounds: at most `maxEntries`
 * (the oldest goes first) and only keys of at most `maxKeyLength` characters (a longer one, often a
 * client's choice, is worked out each time and never kept). For pure results only: the key must be
 * the whole input of what is remembered.
 */
export class BoundedMemo<V> {
  readonly #entries = new Map<string, V>()

  constructor(
    private readonly maxEntries: number,
    private readonly maxKeyLength: number
  ) {}

  get(key: string): V | undefined {
    return this.#entries.get(key)
  }

  /** Keeps `value` for `key` when the key is short enough; returns `value`. */
  remember(key: string, value: V): V {
    if (key.length <= this.maxKeyLength) {
      if (this.#entries.size >= this.maxEntries) {
        this.#entries.delete(this.#entries.keys().next().value!)
      }
      this.#entries.set(key, value)
    }
    return value
  }

  get size(): number {
    return this.#entries.size
  }
}
