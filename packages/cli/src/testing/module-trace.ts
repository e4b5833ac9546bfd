// `node --import <this> …` records every module file the run loads, one URL a line, in the file
// that SWITCHBOARD_MODULE_TRACE names: how a test sees that a command loads only what it needs.
import { register } from 'node:module';

const file = process.env['SWITCHBOARD_MODULE_TRACE'];
if (file !== undefined) register('./module-trace-hooks.js', { parentURL: import.meta.url, data: { file } });
