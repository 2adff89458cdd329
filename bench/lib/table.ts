import type { Cell, Column } from './types'

function show(value: Cell | undefined, column: Column): string {
  if (value === null || value === undefined) return '—'
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '—'
    return column.format ? column.format(value) : String(value)
  }
  return value
}

/** A Markdown table (pasteable into an issue or the README), columns padded for the terminal. */
export function formatTable(
  columns: readonly Column[],
  rows: readonly Record<string, Cell>[]
): string {
  const cells = rows.map((row) => columns.map((column) => show(row[column.key], column)))
  const widths = columns.map((column, i) =>
    Math.max(column.label.length, 3, ...cells.map((line) => line[i]!.length))
  )
  // Text left, numbers right: the first column is the label.
  const pad = (text: string, i: number) =>
    i === 0 ? text.padEnd(widths[i]!) : text.padStart(widths[i]!)
  const line = (parts: string[]) => `| ${parts.map(pad).join(' | ')} |`
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`
  return [line(columns.map((c) => c.label)), rule, ...cells.map(line)].join('\n')
}
