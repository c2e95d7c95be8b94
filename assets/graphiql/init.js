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

# Live updates (over a WebSocket): run this, then
# change the profile (REST PATCH, updateProfile)
# and watch the result pane.
subscription Live {
  profileChanged(ids: ["507f1f77bcf86cd799439011"]) {
    id
    availabilityStatus
    bio
    followersCount
    updatedAt
  }
}
`;

// Subscriptions go over a WebSocket to the same /graphql (graphql-transport-ws); the headers of
// the Headers tab become the connection_init payload, which the server reads as request headers.
const SUBSCRIPTION_URL =
  (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/graphql";

// The fetcher is a global so that it can be driven without the editor (the browser test does).
window.graphiqlFetcher = GraphiQL.createFetcher({
  url: "/graphql",
  subscriptionUrl: SUBSCRIPTION_URL,
});

ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {
    fetcher: window.graphiqlFetcher,
    defaultQuery: DEFAULT_QUERY,
    defaultEditorToolsVisibility: "headers",
    // Open on the schema the first time; GraphiQL remembers the choice afterwards.
    visiblePlugin: "Documentation Explorer",
  }),
);
