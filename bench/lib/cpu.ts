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
  /** Busy time of the whole machine (all cores), to tell how much else was running. */
  systemBusyMs: number | null
  /** This process: the load generator and the in-process demo origin. */
  selfMs: number
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

/** /proc/stat: user + nice + system + irq + softirq + steal of all cores (idle and iowait left out). */
function systemBusyMs(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
    const [user, nice, system, , , irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number)
    const ticks = [user, nice, system, irq, softirq, steal].reduce<number>(
      (n, x) => n + (x ?? 0),
      0
    )
    return (ticks * 1000) / clockTicks()
  } catch {
    return null
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
    let cmdline: string
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
  const self = process.cpuUsage()
  return { allMs, workerMs, systemBusyMs: systemBusyMs(), selfMs: (self.user + self.system) / 1000 }
}
