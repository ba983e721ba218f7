"""The GraphiQL page: GraphiQL 3, React 18 and graphql-ws served from ``graph/static`` (no CDN).

Headers typed into GraphiQL's header editor are sent with every HTTP request and, for
subscriptions, as the graphql-transport-ws ``connection_init`` payload.
"""

from __future__ import annotations

import json

ASSET_PATH = "/api/graphql/static"

DEFAULT_QUERY = """# HARi GraphQL. Put your token in the Headers tab below:
#   {"Authorization": "Bearer <access token or hari_ key>"}
# then press Run (Ctrl-Enter). The Docs panel lists your workspace's types.
query Contacts {
  contacts(page_size: 10, sort: [{field: created_at, direction: desc}]) {
    data { id first_name last_name email_address source company { name } }
    meta { page page_size total }
  }
}
"""

GRAPHIQL_HTML = f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>HARi GraphQL</title>
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="stylesheet" href="{ASSET_PATH}/graphiql.min.css" />
    <style>
      body {{ margin: 0; height: 100vh; overflow: hidden; }}
      #graphiql {{ height: 100vh; }}
    </style>
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script src="{ASSET_PATH}/react.production.min.js"></script>
    <script src="{ASSET_PATH}/react-dom.production.min.js"></script>
    <script src="{ASSET_PATH}/graphql-ws.min.js"></script>
    <script src="{ASSET_PATH}/graphiql.min.js"></script>
    <script>
      const httpUrl = new URL("/api/graphql", window.location.href).href;
      const wsUrl = httpUrl.replace(/^http/, "ws");
      const httpFetcher = GraphiQL.createFetcher({{ url: httpUrl }});
      // Subscriptions go over graphql-transport-ws; the editor's headers become the connection_init payload.
      let wsClient = null;
      let wsHeaders = null;
      function isSubscription(doc, name) {{
        return !!doc && doc.definitions.some(function (d) {{
          return d.kind === "OperationDefinition" && d.operation === "subscription" &&
            (!name || (d.name && d.name.value === name));
        }});
      }}
      function fetcher(params, opts) {{
        if (!opts || !isSubscription(opts.documentAST, params.operationName)) return httpFetcher(params, opts);
        const headers = JSON.stringify((opts && opts.headers) || {{}});
        if (wsClient === null || wsHeaders !== headers) {{
          if (wsClient !== null) wsClient.dispose();
          wsClient = graphqlWs.createClient({{ url: wsUrl, connectionParams: JSON.parse(headers) }});
          wsHeaders = headers;
        }}
        const client = wsClient;
        return {{
          subscribe: function (observer) {{
            const stop = client.subscribe(params, {{
              next: function (value) {{ observer.next(value); }},
              error: function (error) {{ observer.error(error); }},
              complete: function () {{ observer.complete(); }},
            }});
            return {{ unsubscribe: stop }};
          }},
        }};
      }}
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {{
          fetcher: fetcher,
          shouldPersistHeaders: true,
          defaultEditorToolsVisibility: "headers",
          defaultHeaders: JSON.stringify({{ Authorization: "Bearer <access token or hari_ key>" }}, null, 2),
          defaultQuery: {json.dumps(DEFAULT_QUERY)},
        }})
      );
    </script>
  </body>
</html>
"""
