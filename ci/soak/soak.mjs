// The soak behind `ci/soak.sh`: mixed reads, profile writes and follow-graph changes against a
// running profile-api for a fixed time, with /metrics never scraped, sampling the server's
// resident memory; then, against the server restarted on the same database, a check that every
// acknowledged write is there.
//
//   node soak.mjs load   <state.json>    the load; writes what the server acknowledged
//   node soak.mjs verify <state.json>    compares the server with it
//
// Environment: SOAK_URL (http://127.0.0.1:PORT), SOAK_PID (the server's pid, for its RSS),
// SOAK_SECONDS (default 180), SOAK_TOKENS (a JSON file {userId: token} of the writers),
// SOAK_READERS (read-only clients besides one writer per token, default 0: ci/soak.sh reads
// with wrk beside it).
//
// Each writer acts as one demo user and is the only client that changes that user's profile and
// its relations to eight users of its own, so what it last saw acknowledged is what must be
// stored, whatever the interleaving of the other clients.
//
// Memory is judged by its floor: the lowest RSS of the last quarter of the run may exceed the
// lowest RSS of the second quarter (after start-up and warm-up) by at most SOAK_RSS_SLACK_KIB
// (default 3072). The allocator keeps and returns whole segments, so the RSS of a server that
// does not leak moves in steps of 2-6 MiB either way, lasting tens of seconds (the RSS is read
// every second, with the thread count, and the samples kept in the state file); comparing two
// single samples or a slope failed on such a step. A leak raises every sample, the lowest included: 30
// bytes a request at this load (wrk's readers and these clients, thousands a second) is
// 3 MiB in half a minute, so it breaks the check over the 90 s between the two quarters.
import { readFileSync, writeFileSync } from 'node:fs';

const [mode, stateFile] = process.argv.slice(2);
const base = process.env.SOAK_URL ?? 'http://127.0.0.1:8080';
const seconds = Number(process.env.SOAK_SECONDS ?? 180);
const readers = Number(process.env.SOAK_READERS ?? 0);
const slackKib = Number(process.env.SOAK_RSS_SLACK_KIB ?? 3072);

// The demo data's 300 public filler users (src/demo.rs).
const filler = (n) => `64f0fa17${n.toString(16).padStart(16, '0')}`;
const FILLERS = Array.from({ length: 300 }, (_, n) => filler(n));
const TARGETS_PER_WRITER = 8;

// A small deterministic generator, so that a failing run can be replayed.
let seed = 0x5eed;
const random = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
};
const pick = (list) => list[Math.floor(random() * list.length)];

async function call(method, path, { token, body, headers = {} } = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Only 304s have no JSON body; checked by the caller through the status.
  }
  return { status: response.status, json, text };
}

const graphql = (query, variables, token) =>
  call('POST', '/graphql', { token, body: { query, variables } });

const stats = { requests: 0, byKind: {}, unexpected: [] };
function count(kind, response, ok) {
  stats.requests += 1;
  stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
  if (response.status >= 500 || !ok) {
    stats.unexpected.push(`${kind}: ${response.status} ${response.text.slice(0, 300)}`);
  }
}

async function read(token) {
  const id = pick(FILLERS);
  switch (Math.floor(random() * 5)) {
    case 0: {
      const r = await call('GET', `/api/v1/users/profile/${id}`);
      return count('rest-by-id', r, r.status === 200);
    }
    case 1: {
      const r = await call('GET', `/api/v1/users/profile/${id}`);
      const name = r.json?.data?.username;
      const s = await call('GET', `/api/v1/users/profile/username/@${name}`);
      return count('rest-by-username', s, s.status === 200);
    }
    case 2: {
      const r = await graphql(
        'query One($id: ID!) { user(id: $id) { id username followersCount followingCount isFollowedByViewer } }',
        { id },
        token,
      );
      return count('graphql-user', r, r.status === 200 && !r.json?.errors);
    }
    case 3: {
      const ids = Array.from({ length: 20 }, () => pick(FILLERS));
      const r = await graphql(
        'query Many($ids: [ID!]!) { users(ids: $ids) { id name followersCount } }',
        { ids },
        token,
      );
      return count('graphql-users', r, r.status === 200 && !r.json?.errors);
    }
    default: {
      const r = await graphql(
        '{ viewer { id bio following(first: 10) { totalCount nodes { id } } } }',
        {},
        token,
      );
      return count('graphql-viewer', r, r.status === 200 && !r.json?.errors);
    }
  }
}

/// The relations of `token`'s user to `targets`: {id: {follows, blocks}}.
async function relations(token, targets) {
  const r = await graphql(
    'query Relations($ids: [ID!]!) { users(ids: $ids) { id isFollowedByViewer isBlockedByViewer } }',
    { ids: targets },
    token,
  );
  if (r.status !== 200 || r.json?.errors) throw new Error(`relations: ${r.text}`);
  return Object.fromEntries(
    r.json.data.users.map((u) => [u.id, { follows: u.isFollowedByViewer, blocks: u.isBlockedByViewer }]),
  );
}

async function writer(id, token, targets, expected, deadline) {
  let sequence = 0;
  while (Date.now() < deadline) {
    const roll = random();
    if (roll < 0.45) {
      await read(token);
    } else if (roll < 0.7) {
      sequence += 1;
      const bio = `soak ${id.slice(-4)} #${sequence}`;
      if (sequence % 2 === 0) {
        const r = await call('PATCH', '/api/v1/users/profile', { token, body: { bio } });
        count('rest-patch', r, r.status === 200);
        if (r.status === 200) expected.bio = bio;
      } else {
        const r = await graphql(
          'mutation Bio($bio: String) { updateProfile(input: { bio: $bio }) { bio } }',
          { bio },
          token,
        );
        const ok = r.status === 200 && !r.json?.errors;
        count('graphql-update', r, ok);
        if (ok) expected.bio = bio;
      }
    } else {
      const target = pick(targets);
      const state = expected.relations[target];
      const change = pick(['follow', 'follow', 'unfollow', 'block', 'unblock']);
      const r = await graphql(`mutation Change($id: ID!) { ${change}(userId: $id) }`, { id: target }, token);
      const code = r.json?.errors?.[0]?.extensions?.code;
      // Following a user one blocks is refused; everything else must succeed.
      const refused = change === 'follow' && state.blocks && code === 'FORBIDDEN';
      const ok = r.status === 200 && (!r.json?.errors || refused);
      count(`graphql-${change}`, r, ok);
      if (ok && !refused) {
        if (change === 'follow') state.follows = true;
        if (change === 'unfollow') state.follows = false;
        if (change === 'block') Object.assign(state, { blocks: true, follows: false });
        if (change === 'unblock') state.blocks = false;
      }
    }
  }
}

async function reader(deadline) {
  while (Date.now() < deadline) await read(undefined);
}

/// The server's resident memory (KiB) and its number of threads, from /proc.
function residentAndThreads(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return [
    Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]),
    Number(/Threads:\s+(\d+)/.exec(status)?.[1]),
  ];
}

/// The lowest RSS (KiB) of the samples taken from `from` to `to` seconds.
function floorBetween(samples, from, to) {
  return Math.min(...samples.filter(([t]) => t >= from && t <= to).map(([, kib]) => kib));
}

async function load() {
  const pid = Number(process.env.SOAK_PID);
  const tokens = JSON.parse(readFileSync(process.env.SOAK_TOKENS, 'utf8'));
  const writers = Object.entries(tokens);
  const writerIds = new Set(writers.map(([id]) => id));
  const free = FILLERS.filter((id) => !writerIds.has(id));
  const expected = {};
  for (const [index, [id, token]] of writers.entries()) {
    const targets = free.slice(index * TARGETS_PER_WRITER, (index + 1) * TARGETS_PER_WRITER);
    if (targets.length < TARGETS_PER_WRITER) throw new Error('too many writers for the demo users');
    expected[id] = { bio: undefined, relations: await relations(token, targets) };
  }

  const started = Date.now();
  const deadline = started + seconds * 1000;
  const samples = [];
  const sample = () => samples.push([(Date.now() - started) / 1000, ...residentAndThreads(pid)]);
  sample();
  const sampler = setInterval(sample, 1000);
  const progress = setInterval(() => {
    const [t, kib, threads] = samples[samples.length - 1];
    console.log(
      `  ${t.toFixed(0)} s: ${stats.requests} requests, RSS ${(kib / 1024).toFixed(1)} MiB, ${threads} threads`,
    );
  }, 30_000);
  await Promise.all([
    ...writers.map(([id, token]) =>
      writer(id, token, Object.keys(expected[id].relations), expected[id], deadline),
    ),
    ...Array.from({ length: readers }, () => reader(deadline)),
  ]);
  clearInterval(sampler);
  clearInterval(progress);
  sample();

  const elapsed = (Date.now() - started) / 1000;
  const secondQuarter = floorBetween(samples, elapsed / 4, elapsed / 2);
  const lastQuarter = floorBetween(samples, (elapsed * 3) / 4, elapsed);
  const peak = Math.max(...samples.map(([, kib]) => kib));
  const mib = (kib) => (kib / 1024).toFixed(1);
  console.log(
    `soak: ${stats.requests} requests in ${elapsed.toFixed(0)} s (${(stats.requests / elapsed).toFixed(0)}/s)`,
  );
  console.log(`  by kind: ${JSON.stringify(stats.byKind)}`);
  console.log(
    `  RSS (MiB): start ${mib(samples[0][1])}, end ${mib(samples[samples.length - 1][1])}, ` +
      `peak ${mib(peak)}; lowest of the second quarter ${mib(secondQuarter)}, of the last ${mib(lastQuarter)}`,
  );
  writeFileSync(stateFile, JSON.stringify({ expected, tokens, samples, stats }, null, 1));

  const problems = [];
  if (stats.unexpected.length > 0) {
    problems.push(`${stats.unexpected.length} unexpected responses, such as:\n    ${stats.unexpected.slice(0, 5).join('\n    ')}`);
  }
  if (!Number.isFinite(secondQuarter) || !Number.isFinite(lastQuarter)) {
    problems.push(`too few RSS samples to judge memory (a run of ${elapsed.toFixed(0)} s)`);
  } else if (lastQuarter - secondQuarter > slackKib) {
    problems.push(
      `the RSS floor rose by ${lastQuarter - secondQuarter} KiB from the second quarter to the last (allowed: ${slackKib})`,
    );
  }
  return problems;
}

async function verify() {
  const { expected, tokens } = JSON.parse(readFileSync(stateFile, 'utf8'));
  const problems = [];
  let checked = 0;
  for (const [id, want] of Object.entries(expected)) {
    const token = tokens[id];
    const me = await graphql('{ viewer { bio } }', {}, token);
    if (want.bio !== undefined && me.json?.data?.viewer?.bio !== want.bio) {
      problems.push(`${id}: bio ${JSON.stringify(me.json?.data?.viewer?.bio)}, acknowledged ${JSON.stringify(want.bio)}`);
    }
    checked += 1;
    const stored = await relations(token, Object.keys(want.relations));
    for (const [target, relation] of Object.entries(want.relations)) {
      checked += 1;
      const got = stored[target];
      if (got.follows !== relation.follows || got.blocks !== relation.blocks) {
        problems.push(`${id} → ${target}: stored ${JSON.stringify(got)}, acknowledged ${JSON.stringify(relation)}`);
      }
    }
  }
  console.log(`verify: ${checked} acknowledged values checked (bios and relations), ${problems.length} missing`);
  return problems;
}

const problems = mode === 'load' ? await load() : mode === 'verify' ? await verify() : null;
if (problems === null) {
  console.error('usage: node soak.mjs load|verify <state.json>');
  process.exit(2);
}
for (const problem of problems) console.error(`FAIL: ${problem}`);
process.exit(problems.length === 0 ? 0 : 1);
