/**
 * CPU time spent by a `wrangler dev` process group, from /proc (Linux). On a shared, noisy machine
 * CPU per request moves far less than requests per second: other load slows a Worker down, it does
 * not make it do more work per request.
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

export interface GroupCpu {
  /** Every process of the group: wrangler (node), its proxy workerd and the Worker's workerd. */
  allMs: number
  /** The workerd that runs the Worker itself (and Miniflare's Cache API object). */
  workerMs: number | null
}

let ticksPerSecond: number | undefined
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond =
        Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      ticksPerSecond = 100
    }
  }
  return ticksPerSecond
}

/** utime + stime (ms) and process group of one process, or undefined if it is gone. */
function readStat(pid: string): { pgrp: number; cpuMs: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // proc(5): state is field 3, pgrp 5, utime 14, stime 15 (1-based, so index - 3 here).
    const pgrp = Number(fields[2])
    const ticks = Number(fields[11]) + Number(fields[12])
    return { pgrp, cpuMs: (ticks * 1000) / clockTicks() }
  } catch {
    return undefined
  }
}

/** CPU used so far by the processes of group `pgid`; null where /proc is not available. */
export function groupCpu(pgid: number): GroupCpu | null {
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return null
  }
  let allMs = 0
  let workerMs: number | null = null
  for (const pid of pids) {
    const stat = readStat(pid)
    if (!stat || stat.pgrp !== pgid) continue
    allMs += stat.cpuMs
    let cmdline = ''
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    } catch {
      continue
    }
    // Wrangler starts two workerd: a proxy in front, and the Worker's own, which has a debug port.
    if (cmdline.includes('workerd') && cmdline.includes('--debug-port')) {
      workerMs = (workerMs ?? 0) + stat.cpuMs
    }
  }
  return { allMs, workerMs }
}
