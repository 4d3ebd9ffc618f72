// The privileged helper's entry: run as root (by pkexec through the installed wrapper, or directly by a root
// process), it speaks engine/live/privileged.ts's protocol on stdin/stdout and exits when stdin closes (the app
// went away), pausing any live scrub it runs so its position is saved. Nothing is logged: errors go back as answers.
import { LiveService } from './service.js';
import { serveHelper } from './privileged.js';

const service = new LiveService({ by: 'dashboard' });
process.stdout.on('error', () => process.exit(0)); // the app closed our stdout: nobody to answer
await serveHelper(service, process.stdin, (line) => process.stdout.write(line));
process.exit(0);
