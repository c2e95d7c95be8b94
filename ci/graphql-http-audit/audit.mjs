// Runs the `graphql-http` package's audit of the GraphQL-over-HTTP spec against a running
// profile-api and fails on any MUST or SHOULD that does not pass (MAYs are reported only).
//
//   node audit.mjs http://127.0.0.1:8080/graphql
//
// Prints one line per audit and a summary such as `MUST 13/13, SHOULD 23/23, MAY 27/27`.
import { auditServer } from 'graphql-http';

const url = process.argv[2] ?? process.env.GRAPHQL_URL;
if (!url) {
  console.error('usage: node audit.mjs <url of /graphql>');
  process.exit(2);
}

const results = await auditServer({ url });
const levels = ['MUST', 'SHOULD', 'MAY'];
const counts = Object.fromEntries(levels.map((level) => [level, { ok: 0, all: 0 }]));
let failures = 0;
for (const result of results) {
  const level = levels.find((l) => result.name.startsWith(l)) ?? 'MAY';
  counts[level].all += 1;
  if (result.status === 'ok') {
    counts[level].ok += 1;
    console.log(`ok      ${result.id} ${result.name}`);
    continue;
  }
  const blocking = level !== 'MAY';
  if (blocking) failures += 1;
  console.log(`${blocking ? 'FAIL' : 'notice'}  ${result.id} ${result.name}: ${result.reason}`);
  if (blocking && result.response) {
    const body = await result.response.text().catch(() => '');
    console.log(`        ${result.response.status} ${result.response.headers.get('content-type')} ${body.slice(0, 300)}`);
  }
}
console.log(levels.map((l) => `${l} ${counts[l].ok}/${counts[l].all}`).join(', '));
process.exit(failures === 0 ? 0 : 1);
