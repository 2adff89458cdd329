/** The demo origin's data: an in-memory product catalogue with versions and modification times. */

export interface Product {
  id: number
  name: string
  category: string
  price: number
  currency: string
  stock: number
  version: number
  updatedAt: string
  [field: string]: unknown
}

export interface Category {
  slug: string
  name: string
}

export const CATEGORIES: readonly Category[] = [
  { slug: 'audio', name: 'Audio' },
  { slug: 'cameras', name: 'Cameras' },
  { slug: 'laptops', name: 'Laptops' },
  { slug: 'phones', name: 'Phones' },
  { slug: 'accessories', name: 'Accessories' },
]

const SEED_NAMES = [
  'Studio Headphones',
  'Compact Camera',
  'Ultrabook 13',
  'Phone Mini',
  'USB-C Cable',
  'Bluetooth Speaker',
  'Mirrorless Body',
  'Workstation 16',
  'Phone Max',
  'Laptop Sleeve',
  'Earbuds Pro',
  'Action Camera',
  'Chromebook 14',
  'Phone Lite',
  'Power Bank',
  'Turntable',
  'Prime Lens 35mm',
  'Gaming Laptop 17',
  'Rugged Phone',
  'Wireless Charger',
]

// Fixed seed times keep validators identical across runs and processes (tests can hard-code them).
const SEED_TIME = Date.UTC(2026, 0, 1)

/** Fields a client may not set: the origin owns identity and versioning. */
const OWNED_FIELDS = new Set(['id', 'version', 'updatedAt'])

function wholeSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000
}

export class Catalogue {
  #products = new Map<number, Product>()
  #nextId = 1
  #lastModified = SEED_TIME

  constructor() {
    this.reset()
  }

  reset(): void {
    this.#products.clear()
    SEED_NAMES.forEach((name, index) => {
      const id = index + 1
      const updatedAt = SEED_TIME + id * 60_000
      this.#products.set(id, {
        id,
        name,
        category: CATEGORIES[index % CATEGORIES.length]!.slug,
        price: 1990 + index * 1500,
        currency: 'EUR',
        stock: (id * 7) % 23,
        version: 1,
        updatedAt: new Date(updatedAt).toISOString(),
      })
      this.#lastModified = Math.max(this.#lastModified, updatedAt)
    })
    this.#nextId = SEED_NAMES.length + 1
  }

  list(): Product[] {
    return [...this.#products.values()]
  }

  get(id: number): Product | undefined {
    return this.#products.get(id)
  }

  /** Modification time of the whole list (any create, update or delete moves it). */
  get lastModified(): number {
    return this.#lastModified
  }

  /** Modification time of one product, in ms. */
  modifiedAt(product: Product): number {
    return Date.parse(product.updatedAt)
  }

  create(fields: Record<string, unknown>): Product {
    const id = this.#nextId++
    const updatedAt = this.#tick()
    const product: Product = {
      name: `Product ${id}`,
      category: 'accessories',
      price: 0,
      currency: 'EUR',
      stock: 0,
      ...withoutOwned(fields),
      id,
      version: 1,
      updatedAt: new Date(updatedAt).toISOString(),
    }
    this.#products.set(id, product)
    return product
  }

  /** Merges fields into a product and bumps its version (so its ETag and Last-Modified change). */
  update(id: number, fields: Record<string, unknown>): Product | undefined {
    const current = this.#products.get(id)
    if (!current) return undefined
    const updatedAt = this.#tick(Date.parse(current.updatedAt))
    const product: Product = {
      ...current,
      ...withoutOwned(fields),
      id,
      version: current.version + 1,
      updatedAt: new Date(updatedAt).toISOString(),
    }
    this.#products.set(id, product)
    return product
  }

  remove(id: number): boolean {
    const existed = this.#products.delete(id)
    if (existed) this.#tick()
    return existed
  }

  /**
   * A new modification time for an item, strictly later (by whole seconds, the precision of HTTP
   * dates) than its previous one, so If-Modified-Since always sees the change. The list's time
   * only moves forward with it; its ETag catches changes within the same second.
   */
  #tick(previous = 0): number {
    const next = Math.max(wholeSecond(Date.now()), wholeSecond(previous) + 1000)
    this.#lastModified = Math.max(this.#lastModified, next)
    return next
  }
}

function withoutOwned(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([key]) => !OWNED_FIELDS.has(key)))
}
