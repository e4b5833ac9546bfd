// @switchboard/cdr-web — the Call Detail Records page: records from the NATS CDR query,
// rendered on the server as HTML (one table per trunk, transfers under their call) and CSV.
export { renderCdrPage, renderCdrErrorPage, NO_TRUNK_HEADING, type CdrPageView, type CdrErrorView } from './cdr-page.js';
export { toCdrCsv, csvField, CDR_CSV_HEADER } from './cdr-csv.js';
export {
  parseCdrFilter, formValuesOf, filterSearch, selectRecords, selectByDisposition, NO_TRUNK, SINCE_CHOICES,
  type CdrFilter, type CdrFormValues, type CdrFilterResult, type SelectedRecords,
} from './cdr-filter.js';
export { CdrWebServer, csvFileName, type CdrSource, type CdrWebServerOptions } from './cdr-web-server.js';
export { parseCdrWebOptions, parseListen, DEFAULT_LISTEN, DEFAULT_NATS_URL, type CdrWebOptions } from './cdr-web-options.js';
export { escapeHtml } from './html.js';
