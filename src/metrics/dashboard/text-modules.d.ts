// Files bundled as text (wrangler.toml [[rules]] type = "Text"): the dashboard's page, script and
// styles, and uPlot's browser build. Served by the Worker; nothing is fetched from a CDN.
declare module 'uplot/dist/uPlot.iife.min.js' {
  const text: string
  export default text
}
declare module 'uplot/dist/uPlot.min.css' {
  const text: string
  export default text
}
declare module '*.client.js' {
  const text: string
  export default text
}
declare module '*.client.html' {
  const text: string
  export default text
}
declare module '*.client.css' {
  const text: string
  export default text
}
