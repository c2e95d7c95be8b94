// Starts GraphiQL on /graphql. It is a file of its own, not an inline script, so that the page's
// Content-Security-Policy can allow scripts from this server only.
"use strict";

const DEFAULT_QUERY = `# Request headers go in the Headers
# tab below, as JSON, e.g.
# {"Accept-Language": "tr",
#  "Authorization": "Bearer <token>"}

query Profile {
  userByUsername(username: "johndoe123") {
    id
    name
    surname
    username
    availabilityStatus
    profilePhoto { url type }
    age
    followersCount
    followingCount
    createdAt
  }
}
`;

ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher: GraphiQL.createFetcher({ url: "/graphql" }),
    defaultQuery: DEFAULT_QUERY,
    defaultEditorToolsVisibility: "headers",
    // Open on the schema the first time; GraphiQL remembers the choice afterwards.
    visiblePlugin: "Documentation Explorer",
  }),
);
