/**
 * A strict RFC 8941 (Structured Field Values) Dictionary parser, for the RFC 9213 targeted cache
 * fields. Strict on purpose: RFC 9213 §2.1 says a field that fails to parse is ignored as a whole, so
 * a half-read field must never reach the cache's decisions. Any deviation from the grammar (a capital
 * in a key, a trailing comma, a decimal with four fraction digits...) makes the whole parse fail.
 */

export type BareItem =
  | { readonly type: 'integer'; readonly value: number }
  | { readonly type: 'decimal'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'token'; readonly value: string }
  /** The base64 text between the colons (validated, not decoded: no directive needs the bytes). */
  | { readonly type: 'binary'; readonly value: string }
  | { readonly type: 'boolean'; readonly value: boolean }

export type Parameters = ReadonlyMap<string, BareItem>

export interface Item {
  readonly kind: 'item'
  readonly value: BareItem
  readonly params: Parameters
}

export interface InnerList {
  readonly kind: 'inner-list'
  readonly items: readonly Item[]
  readonly params: Parameters
}

/** Members in first-seen order; a repeated key takes its last value (RFC 8941 §4.2.2). */
export type Dictionary = ReadonlyMap<string, Item | InnerList>

/** Thrown inside the parser only; `parseDictionary` turns it into `undefined`. */
class ParseError extends Error {}

const TRUE: BareItem = Object.freeze({ type: 'boolean', value: true })
const MAX_INTEGER_DIGITS = 15

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39
}
function isLcAlpha(code: number): boolean {
  return code >= 0x61 && code <= 0x7a
}
function isAlpha(code: number): boolean {
  return isLcAlpha(code) || (code >= 0x41 && code <= 0x5a)
}
// tchar (RFC 9110 §5.6.2) plus ":" and "/", which sf-token allows after its first character.
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/y
const KEY_CHAR = /[a-z0-9_\-.*]/y
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

class Parser {
  private pos = 0
  constructor(private readonly input: string) {}

  get done(): boolean {
    return this.pos >= this.input.length
  }

  private peek(): string {
    return this.input[this.pos] ?? ''
  }

  private fail(): never {
    throw new ParseError()
  }

  private skipSP(): void {
    while (this.input[this.pos] === ' ') this.pos++
  }

  private skipOWS(): void {
    while (this.input[this.pos] === ' ' || this.input[this.pos] === '\t') this.pos++
  }

  /** RFC 8941 §4.2.2 */
  dictionary(): Map<string, Item | InnerList> {
    const out = new Map<string, Item | InnerList>()
    this.skipSP()
    while (!this.done) {
      const key = this.key()
      let member: Item | InnerList
      if (this.peek() === '=') {
        this.pos++
        member = this.peek() === '(' ? this.innerList() : this.item()
      } else {
        member = { kind: 'item', value: TRUE, params: this.parameters() }
      }
      out.set(key, member)
      this.skipOWS()
      if (this.done) break
      if (this.input[this.pos++] !== ',') this.fail()
      this.skipOWS()
      // A trailing comma is an error, not an empty member.
      if (this.done) this.fail()
    }
    return out
  }

  /** RFC 8941 §4.2.1.2 */
  private innerList(): InnerList {
    this.pos++ // "("
    const items: Item[] = []
    while (!this.done) {
      this.skipSP()
      if (this.peek() === ')') {
        this.pos++
        return { kind: 'inner-list', items, params: this.parameters() }
      }
      items.push(this.item())
      const next = this.peek()
      if (next !== ' ' && next !== ')') this.fail()
    }
    return this.fail()
  }

  /** RFC 8941 §4.2.3 */
  private item(): Item {
    const value = this.bareItem()
    return { kind: 'item', value, params: this.parameters() }
  }

  /** RFC 8941 §4.2.3.1 */
  private bareItem(): BareItem {
    const ch = this.peek()
    const code = ch.charCodeAt(0)
    if (ch === '-' || isDigit(code)) return this.number()
    if (ch === '"') return this.string()
    if (ch === '*' || isAlpha(code)) return this.token()
    if (ch === ':') return this.binary()
    if (ch === '?') return this.boolean()
    return this.fail()
  }

  /** RFC 8941 §4.2.3.2 */
  private parameters(): Map<string, BareItem> {
    const out = new Map<string, BareItem>()
    while (this.peek() === ';') {
      this.pos++
      this.skipSP()
      const key = this.key()
      let value: BareItem = TRUE
      if (this.peek() === '=') {
        this.pos++
        value = this.bareItem()
      }
      out.set(key, value)
    }
    return out
  }

  /** RFC 8941 §4.2.3.3: lcalpha or "*", then lcalpha, DIGIT, "_", "-", ".", "*". */
  private key(): string {
    const first = this.peek()
    if (first !== '*' && !isLcAlpha(first.charCodeAt(0))) this.fail()
    const start = this.pos++
    for (;;) {
      KEY_CHAR.lastIndex = this.pos
      if (!KEY_CHAR.test(this.input)) break
      this.pos++
    }
    return this.input.slice(start, this.pos)
  }

  /** RFC 8941 §4.2.4 */
  private number(): BareItem {
    let sign = 1
    if (this.peek() === '-') {
      this.pos++
      sign = -1
    }
    if (!isDigit(this.peek().charCodeAt(0))) this.fail()
    let decimal = false
    let digits = ''
    while (!this.done) {
      const ch = this.peek()
      if (isDigit(ch.charCodeAt(0))) digits += ch
      else if (!decimal && ch === '.') {
        if (digits.length > 12) this.fail()
        digits += ch
        decimal = true
      } else break
      this.pos++
      if (!decimal && digits.length > MAX_INTEGER_DIGITS) this.fail()
      if (decimal && digits.length > 16) this.fail()
    }
    if (!decimal) return { type: 'integer', value: sign * Number(digits) }
    if (digits.endsWith('.')) this.fail()
    if (digits.length - digits.indexOf('.') - 1 > 3) this.fail()
    return { type: 'decimal', value: sign * Number(digits) }
  }

  /** RFC 8941 §4.2.5: printable ASCII, with `\"` and `\\` the only escapes. */
  private string(): BareItem {
    this.pos++ // '"'
    let out = ''
    while (!this.done) {
      const ch = this.input[this.pos++]!
      if (ch === '\\') {
        const next = this.input[this.pos++]
        if (next !== '"' && next !== '\\') this.fail()
        out += next
      } else if (ch === '"') {
        return { type: 'string', value: out }
      } else {
        const code = ch.charCodeAt(0)
        if (code < 0x20 || code > 0x7e) this.fail()
        out += ch
      }
    }
    return this.fail()
  }

  /** RFC 8941 §4.2.6 */
  private token(): BareItem {
    const start = this.pos++
    for (;;) {
      TOKEN_CHAR.lastIndex = this.pos
      if (!TOKEN_CHAR.test(this.input)) break
      this.pos++
    }
    return { type: 'token', value: this.input.slice(start, this.pos) }
  }

  /** RFC 8941 §4.2.7 */
  private binary(): BareItem {
    const end = this.input.indexOf(':', this.pos + 1)
    if (end === -1) this.fail()
    const text = this.input.slice(this.pos + 1, end)
    if (!BASE64.test(text)) this.fail()
    this.pos = end + 1
    return { type: 'binary', value: text }
  }

  /** RFC 8941 §4.2.8 */
  private boolean(): BareItem {
    const ch = this.input[this.pos + 1]
    if (ch !== '0' && ch !== '1') this.fail()
    this.pos += 2
    return { type: 'boolean', value: ch === '1' }
  }
}

/**
 * Parses a Dictionary field value (several field lines joined with ", ", as `Headers.get` does).
 * Undefined when any part of it fails to parse: the field is then to be ignored as a whole.
 */
export function parseDictionary(value: string): Dictionary | undefined {
  const parser = new Parser(value)
  try {
    const out = parser.dictionary()
    return parser.done ? out : undefined
  } catch (error) {
    if (error instanceof ParseError) return undefined
    throw error
  }
}
