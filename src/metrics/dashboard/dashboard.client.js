/* global uPlot, document, window, location, history */
// The dashboard's script, served as /_cache/dashboard/app.js (the page's CSP allows same-origin
// scripts only, no inline code). It polls GET /_cache/stats every 2 s with the token kept in this
// tab's sessionStorage, fills the tiles and tables, and redraws the uPlot charts.
'use strict'
;(function dashboard() {
  const TOKEN_KEY = 'edge-cache-dashboard-token'
  const POLL_MS = 2000
  const CHART_HEIGHT = 200
  const $ = (id) => document.getElementById(id)
  const charts = new Map()
  let timer
  let polls = 0

  // `#token=...` (a fragment never reaches the server) is taken once and removed from the address bar.
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token')
  if (fromFragment) {
    sessionStorage.setItem(TOKEN_KEY, fromFragment)
    history.replaceState(null, '', location.pathname + location.search)
  }

  const int = (n) => Math.round(n).toLocaleString('en-US')
  const pct = (r) => (r === null || r === undefined ? '–' : `${(r * 100).toFixed(1)} %`)
  const millis = (v) => (v === null || v === undefined ? '–' : v < 10 ? v.toFixed(1) : int(v))
  const rate = (v) => (v === undefined ? '–' : `${v < 10 ? v.toFixed(1) : int(v)}/s`)
  const last = (values) => values[values.length - 1]

  function setMetric(name, text, value) {
    const el = document.querySelector(`[data-metric="${name}"]`)
    el.textContent = text
    if (value !== undefined) el.dataset.value = String(value)
  }

  function showLogin(message) {
    clearTimeout(timer)
    $('board').hidden = true
    $('logout').hidden = true
    $('login').hidden = false
    $('login-error').textContent = message || ''
    $('status').textContent = 'not signed in'
    $('token').focus()
  }

  $('login').addEventListener('submit', (event) => {
    event.preventDefault()
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim())
    $('token').value = ''
    $('login').hidden = true
    void poll()
  })
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY)
    showLogin()
  })

  async function poll() {
    clearTimeout(timer)
    const token = sessionStorage.getItem(TOKEN_KEY)
    if (!token) return showLogin()
    try {
      const response = await fetch('/_cache/stats', {
        headers: { authorization: `Bearer ${token}` },
        cache: 'no-store',
      })
      if (response.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY)
        return showLogin('That token was refused.')
      }
      if (!response.ok) throw new Error(`the stats endpoint answered ${response.status}`)
      render(await response.json())
    } catch (error) {
      $('status').textContent = `update failed: ${error.message}; retrying`
    }
    timer = setTimeout(poll, POLL_MS)
  }

  function render(view) {
    const { totals, series } = view
    $('login').hidden = true
    $('board').hidden = false
    $('logout').hidden = false
    polls++
    document.body.dataset.polls = String(polls)
    document.body.dataset.statsAt = String(view.now)
    $('status').textContent =
      `updated ${new Date(view.now).toLocaleTimeString()} · refreshes every ${POLL_MS / 1000} s`

    setMetric('requests', int(totals.requests), totals.requests)
    setMetric('hitRatio', pct(totals.hitRatio), totals.hitRatio ?? '')
    setMetric('originFetches', int(totals.originFetches), totals.originFetches)
    setMetric('originRate', rate(last(series.originFetchesPerSec)))
    setMetric('coalesced', int(totals.coalesced), totals.coalesced)
    // Memory evictions, plus the regions' own when their INFO was read.
    const { memory, l2 } = totals.evictions
    setMetric('evictions', int(memory + (l2 ?? 0)), memory + (l2 ?? 0))
    setMetric('evictionSplit', `memory ${int(memory)} · L2 ${l2 === null ? '–' : int(l2)}`)
    const stale = totals.staleServed.swr + totals.staleServed.sie
    setMetric('stale', int(stale), stale)
    setMetric(
      'staleSplit',
      `swr ${int(totals.staleServed.swr)} · sie ${int(totals.staleServed.sie)}`
    )
    setMetric('purges', int(totals.purges), totals.purges)
    setMetric('rateLimited', int(totals.rateLimited), totals.rateLimited)
    setMetric('p50', millis(totals.p50Ms), totals.p50Ms ?? '')
    setMetric('p99', millis(totals.p99Ms), totals.p99Ms ?? '')

    renderTiers(totals.tiers)
    renderRegions(view.l2)
    renderCharts(series)
    $('footer').textContent =
      `totals since ${view.since ? new Date(view.since).toLocaleString() : '–'} · ` +
      `${int(view.batches)} isolate batches summed · ${view.bucketSeconds} s buckets, last 10 minutes`
  }

  function row(cells) {
    const tr = document.createElement('tr')
    for (const cell of cells) {
      const td = document.createElement('td')
      if (typeof cell === 'object') {
        td.textContent = cell.text
        td.className = cell.className
      } else td.textContent = cell
      tr.append(td)
    }
    return tr
  }

  function renderTiers(tiers) {
    const rows = Object.entries(tiers)
      .filter(([, tier]) => tier.requests > 0 || tier.hitRatio !== null)
      .map(([name, tier]) =>
        row([name, int(tier.requests), pct(tier.hitRatio), millis(tier.p50Ms), millis(tier.p99Ms)])
      )
    $('tier-rows').replaceChildren(...rows)
  }

  function renderRegions(l2) {
    const none = !l2.configured && l2.regions.length === 0
    $('no-l2').hidden = !none
    $('regions').hidden = none
    const rows = l2.regions.map((region) =>
      row([
        region.region,
        { text: region.state, className: `state-${region.state}` },
        region.changedAt ? new Date(region.changedAt).toLocaleTimeString() : '–',
        int(region.served),
        `${int(region.failoversFrom)} / ${int(region.failoversTo)}`,
        int(region.transitions),
        { text: region.evictedKeys === null ? '–' : int(region.evictedKeys), className: 'evicted' },
      ])
    )
    $('region-rows').replaceChildren(...rows)
  }

  const percent = (values) => values.map((v) => (v === null ? null : v * 100))

  function renderCharts(series) {
    const t = series.t
    draw('chart-hits', { range: [0, 100], unit: '%' }, t, [
      ['all tiers', '#1d232b', percent(series.hitRatio.all), [4, 4]],
      ['memory', '#2b6cb0', percent(series.hitRatio.memory)],
      ['L1', '#2f855a', percent(series.hitRatio.L1)],
      ['L2', '#805ad5', percent(series.hitRatio.L2)],
    ])
    draw('chart-traffic', { unit: '/s' }, t, [
      ['requests/s', '#2b6cb0', series.requestsPerSec],
      ['origin fetches/s', '#c05621', series.originFetchesPerSec],
    ])
    draw('chart-latency', { unit: 'ms' }, t, [
      ['p50', '#2f855a', series.p50Ms],
      ['p99', '#c53030', series.p99Ms],
    ])
    draw('chart-events', { unit: '/s' }, t, [
      ['stale', '#b7791f', series.stalePerSec],
      ['coalesced', '#805ad5', series.coalescedPerSec],
      ['evictions', '#4a5568', series.evictionsPerSec],
      ['purges', '#2b6cb0', series.purgesPerSec],
      ['rate-limited', '#c53030', series.rateLimitedPerSec],
    ])
  }

  function draw(id, y, t, lines) {
    const el = $(id)
    const width = Math.max(280, el.clientWidth)
    const data = [t, ...lines.map((line) => line[2])]
    let chart = charts.get(id)
    if (!chart) {
      chart = new uPlot(
        {
          width,
          height: CHART_HEIGHT,
          scales: { x: { time: true }, y: y.range ? { range: y.range } : {} },
          legend: { live: false },
          axes: [{}, { values: (_, ticks) => ticks.map((v) => `${v}${y.unit}`), size: 72 }],
          series: [
            {},
            ...lines.map(([label, stroke, , dash]) => ({
              label,
              stroke,
              width: 2,
              dash,
              spanGaps: false,
            })),
          ],
        },
        data,
        el
      )
      charts.set(id, chart)
    } else {
      chart.setData(data)
    }
    if (chart.width !== width) chart.setSize({ width, height: CHART_HEIGHT })
  }

  window.addEventListener('resize', () => {
    for (const [id, chart] of charts) {
      chart.setSize({ width: Math.max(280, $(id).clientWidth), height: CHART_HEIGHT })
    }
  })

  void poll()
})()
