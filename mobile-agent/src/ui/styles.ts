/**
 * The page's one stylesheet, served as /ui.css (a TypeScript string so the build needs no copy
 * step). Colours are chosen for at least 4.5:1 contrast; focus is a black ring on a yellow halo,
 * visible on both the white page and the dark header; state is never shown by colour alone.
 */
export const STYLESHEET = `
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; font-size: 106.25%; line-height: 1.5; color: #0b0c0c; background: #fff; }
body { margin: 0; }
a { color: #1d4ed8; text-underline-offset: 0.15em; }
a:visited { color: #5b21b6; }
a:hover { color: #0b0c0c; }
:focus-visible { outline: 3px solid #0b0c0c; outline-offset: 2px; box-shadow: 0 0 0 6px #ffdd00; }
.wrap { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip-path: inset(50%); white-space: nowrap; border: 0; }
.skip-link { position: absolute; left: -9999px; top: 0; background: #ffdd00; color: #0b0c0c; padding: 0.5rem 1rem; z-index: 10; }
.skip-link:focus { left: 0.5rem; top: 0.5rem; }
.muted { color: #505a5f; }

.site-header { background: #0b3d2e; color: #fff; }
.site-header .top { display: flex; flex-wrap: wrap; gap: 0.75rem 2rem; align-items: center; justify-content: space-between; padding-top: 0.75rem; padding-bottom: 0.75rem; }
.site-name { margin: 0; font-size: 1.25rem; font-weight: 700; }
.site-name a, .site-name a:visited { color: #fff; text-decoration: none; }
.site-name small { display: block; font-size: 0.85rem; font-weight: 400; color: #d9ece4; }
.site-header nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 0.25rem; }
.site-header nav a, .site-header nav a:visited { display: inline-block; padding: 0.6rem 0.9rem; color: #fff; text-decoration: none; border-bottom: 4px solid transparent; font-weight: 600; }
.site-header nav a:hover { border-bottom-color: #9fd3bf; }
.site-header nav a[aria-current="page"] { border-bottom-color: #ffdd00; }
.badge { display: inline-block; margin-left: 0.35rem; padding: 0 0.5rem; border-radius: 1rem; background: #ffdd00; color: #0b0c0c; font-size: 0.85rem; font-weight: 700; }

main.wrap { display: block; padding-top: 1.5rem; padding-bottom: 3rem; }
main:focus { outline: none; }
h1 { font-size: 2rem; line-height: 1.2; margin: 0 0 1rem; }
h2 { font-size: 1.4rem; margin: 2rem 0 0.75rem; }
.lead { font-size: 1.1rem; max-width: 44rem; }
footer.wrap { border-top: 1px solid #b1b4b6; padding: 1rem 1rem 2rem; color: #505a5f; font-size: 0.9rem; }

button, .button { font: inherit; font-weight: 600; display: inline-block; padding: 0.55rem 1.1rem; border: 2px solid transparent; border-radius: 0.25rem; cursor: pointer; text-decoration: none; background: #00703c; color: #fff; box-shadow: 0 2px 0 #002d18; }
.button:visited { color: #fff; }
button:hover, .button:hover { background: #005a30; color: #fff; }
button.secondary, .button.secondary { background: #f3f2f1; color: #0b0c0c; box-shadow: 0 2px 0 #929191; }
.button.secondary:visited { color: #0b0c0c; }
button.secondary:hover, .button.secondary:hover { background: #dbdad9; }
button.warning { background: #b42318; box-shadow: 0 2px 0 #55150f; }
button.warning:hover { background: #8c1b13; }
.site-header button { background: #ffdd00; color: #0b0c0c; box-shadow: 0 2px 0 #7a6a00; }
.site-header button:hover { background: #f0c800; color: #0b0c0c; }
.actions { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: 1.5rem 0; }

label, legend { font-weight: 600; display: block; margin-bottom: 0.25rem; }
.hint { color: #505a5f; margin: 0 0 0.4rem; font-size: 0.95rem; }
.field { margin-bottom: 1.25rem; }
input[type="text"], input[type="date"], input[type="search"], select, textarea { font: inherit; padding: 0.4rem 0.5rem; border: 2px solid #0b0c0c; border-radius: 0; background: #fff; color: #0b0c0c; max-width: 100%; }
input[type="text"], textarea { width: 32rem; }
textarea { min-height: 5rem; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
fieldset { border: 0; padding: 0; margin: 0 0 1.5rem; min-width: 0; }
legend { font-size: 1.15rem; padding: 0; }
.choices { display: grid; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); gap: 0.35rem 1rem; margin-top: 0.4rem; }
.choice { display: flex; gap: 0.5rem; align-items: flex-start; }
.choice input { width: 1.3rem; height: 1.3rem; margin: 0.15rem 0 0; flex: none; accent-color: #0b3d2e; }
.choice label { font-weight: 400; margin: 0; }
.choice .hint { display: block; font-size: 0.85rem; margin: 0; }
.filters { display: flex; flex-wrap: wrap; gap: 1rem 1.5rem; align-items: flex-end; background: #f3f2f1; padding: 1rem; }
.filters .field { margin: 0; }
.filters input[type="text"] { width: 20rem; }
.invalid input, .invalid textarea, .invalid select, input[aria-invalid="true"], textarea[aria-invalid="true"] { border-color: #b42318; }
.field.invalid, fieldset.invalid { border-left: 5px solid #b42318; padding-left: 0.9rem; }
.error-message { color: #b42318; font-weight: 700; margin: 0 0 0.35rem; }

.notice { border: 4px solid #00703c; padding: 0.9rem 1.1rem; margin: 0 0 1.5rem; max-width: 48rem; }
.notice.error, .error-summary { border-color: #b42318; }
.error-summary { border: 4px solid #b42318; padding: 0.9rem 1.1rem; margin: 0 0 1.5rem; max-width: 48rem; }
.notice h2, .error-summary h2 { margin: 0 0 0.4rem; font-size: 1.2rem; }
.notice ul, .error-summary ul { margin: 0; padding-left: 1.25rem; }
.error-summary a { color: #b42318; font-weight: 700; }

.table-wrap { overflow-x: auto; margin-bottom: 2rem; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; padding: 0 0 0.5rem; }
caption h2 { margin: 1.5rem 0 0.25rem; }
th, td { text-align: left; vertical-align: top; padding: 0.55rem 0.75rem 0.55rem 0; border-bottom: 1px solid #b1b4b6; }
thead th { border-bottom: 2px solid #0b0c0c; }
tr:target td, tr:target th { background: #fffbe0; }
tr.break-glass td, tr.break-glass th { background: #fff4e5; }
tr.break-glass th { box-shadow: inset 6px 0 0 #b45309; padding-left: 0.75rem; }
.tag { display: inline-block; padding: 0.05rem 0.5rem; font-size: 0.85rem; font-weight: 700; border: 2px solid currentColor; white-space: nowrap; }
.tag.emergency { background: #b45309; border-color: #b45309; color: #fff; }
.tag.ok { color: #005a30; }
.tag.refused, .tag.revoked { color: #b42318; }
.tag.waiting, .tag.ended { color: #505a5f; }
.nowrap { white-space: nowrap; }
details summary { cursor: pointer; color: #1d4ed8; text-decoration: underline; }
details pre { max-width: 40rem; max-height: 24rem; overflow: auto; background: #f3f2f1; padding: 0.75rem; font-size: 0.85rem; }
.document-text, .full-record { max-height: 40rem; overflow: auto; background: #f3f2f1; padding: 0.75rem; margin-bottom: 1.5rem; }
.document-text pre, .full-record pre { margin: 0; font-size: 0.85rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.narrative { white-space: pre-wrap; tab-size: 4; max-width: 56rem; }
.note { border-left: 5px solid #b45309; padding-left: 0.9rem; max-width: 48rem; }

.trends { margin: 1.5rem 0 2.5rem; }
.trend-list { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 30rem), 1fr)); gap: 2rem 2.5rem; }
.trend { min-width: 0; }
.trend h3 { font-size: 1.2rem; margin: 0; }
.trend > p.muted { margin: 0 0 0.5rem; font-size: 0.9rem; }
.trend-chart { display: block; width: 100%; height: auto; max-width: 36rem; margin-bottom: 0.5rem; }
.trend-chart text { font-family: inherit; font-size: 12px; fill: #0b0c0c; }
.trend-chart .tick { fill: #505a5f; }
.trend-chart .unit { font-weight: 700; }
.trend-chart .axis { stroke: #0b0c0c; stroke-width: 1; }
.trend-chart .grid { stroke: #d8dadb; stroke-width: 1; }
.trend-chart .line { fill: none; stroke-width: 2; }
.trend-chart .point { stroke: #fff; stroke-width: 1.5; }
.trend-chart .series-0 .line { stroke: #1d4ed8; }
.trend-chart .series-0 .point, .trend-chart .series-0 .key { fill: #1d4ed8; }
.trend-chart .series-1 .line { stroke: #b45309; }
.trend-chart .series-1 .point, .trend-chart .series-1 .key { fill: #b45309; }
.trend-chart .series-2 .line { stroke: #00703c; }
.trend-chart .series-2 .point, .trend-chart .series-2 .key { fill: #00703c; }
.trend-chart .series-3 .line { stroke: #5b21b6; }
.trend-chart .series-3 .point, .trend-chart .series-3 .key { fill: #5b21b6; }
.trend-note { border-left: 5px solid #b45309; padding-left: 0.75rem; margin: 0 0 0.75rem; font-size: 0.95rem; max-width: 36rem; }
.trend-values { max-height: 18rem; overflow-y: auto; margin-bottom: 0; }
.trend-values caption { font-weight: 600; }
.trend-values thead th { position: sticky; top: 0; background: #fff; }

.summary-list { display: grid; grid-template-columns: max-content 1fr; gap: 0.5rem 1.5rem; max-width: 48rem; }
.summary-list dt { font-weight: 700; }
.summary-list dd { margin: 0; }

.notifications { list-style: none; padding: 0; margin: 0 0 1.5rem; max-width: 52rem; }
.notifications li { padding: 0.75rem 1rem; border-bottom: 1px solid #b1b4b6; }
.notifications li.unread { border-left: 6px solid #1d4ed8; background: #eef3fd; font-weight: 600; }
.notifications .meta { display: block; font-weight: 400; color: #505a5f; font-size: 0.9rem; }

@media (max-width: 40rem) {
  h1 { font-size: 1.6rem; }
  input[type="text"], textarea, .filters input[type="text"] { width: 100%; }
  /* the chart shrinks with the screen: larger letters in its own units keep them legible */
  .trend-chart text { font-size: 16px; }
}
input[type="text"].narrow { width: 6rem; }
.row-actions { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
.row-actions form { margin: 0; }
.check-code { font-size: 1.1rem; font-weight: 700; letter-spacing: 0.05em; white-space: nowrap; }
.one-time-codes { margin-top: 0.75rem; }
.one-time-codes .write-down { border-left: 5px solid #b45309; padding-left: 0.75rem; }
.one-time-codes h3 { font-size: 1.1rem; margin: 1rem 0 0.25rem; }
.codes { padding-left: 2rem; }
.codes code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 1.35rem; font-weight: 700; letter-spacing: 0.05em; overflow-wrap: anywhere; }
.code-big { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 1.6rem; font-weight: 700; letter-spacing: 0.08em; }

@media print {
  .site-header form, .skip-link, form.filters, .actions { display: none; }
  /* with codes to write down on the page, print those alone */
  body:has([data-one-time-codes]) :is(.site-header, footer, main > :not(.notice), .notice > :not(.one-time-codes)) { display: none; }
  .one-time-codes .write-down { display: none; }
}
`;
