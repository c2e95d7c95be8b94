// PostGraphile 5 with the amber preset, in library mode on Node's http server, in WORKERS
// processes sharing one port (node:cluster: Node runs JavaScript on one core per process, and
// PostGraphile 5's CLI runs one). The comparison server of bench/reads.sh and
// bench/graphql_vs_postgraphile.sh; configured by the environment:
//
//   DATABASE_URL  the database        PORT     the port on 127.0.0.1
//   WORKERS       processes (2)       POOL     connections per process (8)
import cluster from "node:cluster";
import { createServer } from "node:http";
import { postgraphile } from "postgraphile";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";

const workers = Number(process.env.WORKERS ?? 2);
const port = Number(process.env.PORT);

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`worker ${worker.process.pid} exited (${code})`);
    process.exit(1);
  });
} else {
  const preset = {
    extends: [PostGraphileAmberPreset],
    pgServices: [
      makePgService({
        connectionString: process.env.DATABASE_URL,
        schemas: ["public"],
        poolConfig: { max: Number(process.env.POOL ?? 8) },
      }),
    ],
    grafserv: { graphiql: false, watch: false },
    grafast: { explain: false },
  };
  const serv = postgraphile(preset).createServ(grafserv);
  const server = createServer();
  serv.addTo(server).then(() => server.listen(port, "127.0.0.1"));
}
