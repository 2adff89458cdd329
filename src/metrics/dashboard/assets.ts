import uplotCss from 'uplot/dist/uPlot.min.css'
import uplotJs from 'uplot/dist/uPlot.iife.min.js'
import dashboardCss from './dashboard.client.css'
import pageHtml from './dashboard.client.html'
import appJs from './dashboard.client.js'

export interface Asset {
  readonly body: string
  readonly type: string
}

const JS = 'text/javascript; charset=utf-8'
const CSS = 'text/css; charset=utf-8'

/** The dashboard page and what it loads, by path under /_cache/dashboard. */
export const DASHBOARD_PAGE: Asset = { body: pageHtml, type: 'text/html; charset=utf-8' }
export const DASHBOARD_ASSETS: Readonly<Record<string, Asset>> = {
  'app.js': { body: appJs, type: JS },
  'dashboard.css': { body: dashboardCss, type: CSS },
  'uplot.min.js': { body: uplotJs, type: JS },
  'uplot.min.css': { body: uplotCss, type: CSS },
}

/**
 * Same-origin scripts and styles only, no inline code, data only from this Worker, never framed.
 * uPlot styles its elements through the CSSOM, which `style-src` does not restrict.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')
